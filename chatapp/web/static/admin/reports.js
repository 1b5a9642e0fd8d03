// The "Reports" dialog of the top bar, for the owner and admins: for a range of whole days in
// the agent's own time zone, chats per day as a bar chart, then first response, resolution
// and queue wait (median and 90th percentile) and satisfaction (CSAT) overall, per agent and per
// label, and the same
// as a CSV file. The server computes every figure (GET /api/admin/reports); this draws them.
import { el } from '../shared/dom.js';
import { errorText, intlLocale, t } from '../shared/i18n.js';
import { labelChip } from './labels.js';
import { MANAGERS } from './staff.js';

const ROUTE = '/api/admin/reports';
const DAYS = 30;
const TIMINGS = ['first_response', 'resolution', 'queue_wait'];
const SVG = 'http://www.w3.org/2000/svg';

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  node.append(...children);
  return node;
}

function isoDay(date) {
  return `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, '0')}-${String(date.getDate()).padStart(2, '0')}`;
}

/** "45 s", "12 min", "3.5 h", "2 d" in the agent's language; "—" when there is no such time. */
export function duration(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  const [value, unit] = seconds < 60 ? [seconds, 'second'] : seconds < 3600 ? [seconds / 60, 'minute']
    : seconds < 86400 ? [seconds / 3600, 'hour'] : [seconds / 86400, 'day'];
  return new Intl.NumberFormat(intlLocale(), {
    style: 'unit', unit, unitDisplay: 'short', maximumFractionDigits: value < 10 ? 1 : 0,
  }).format(value);
}

/** "4.6 / 5" (the ratings' average), or "—" when nobody rated. */
function csatValue(csat) {
  if (csat.average === null) return '—';
  const average = new Intl.NumberFormat(intlLocale(), { maximumFractionDigits: 1 }).format(csat.average);
  return t('reports.csatValue', { average });
}

export class Reports {
  constructor({ api, me, button }) {
    this.api = api;
    this.me = me;
    this.button = button;
    this.zone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  }

  start() {
    this.button.hidden = !MANAGERS.includes(this.me.staff_role);
    if (!this.button.hidden) this.button.addEventListener('click', () => this.open());
  }

  build() {
    if (this.dialog) return;
    const today = new Date();
    const first = new Date(today);
    first.setDate(today.getDate() - (DAYS - 1));
    this.from = el('input', { id: 'report-from', type: 'date', value: isoDay(first), required: true });
    this.to = el('input', { id: 'report-to', type: 'date', value: isoDay(today), required: true });
    this.form = el('form', { id: 'report-form', class: 'report-form', novalidate: true },
      el('label', { for: 'report-from', text: t('reports.from') }), this.from,
      el('label', { for: 'report-to', text: t('reports.to') }), this.to,
      el('button', { type: 'submit', id: 'report-show', class: 'primary', text: t('reports.show') }),
      el('button', { type: 'button', id: 'report-csv', text: t('reports.csv'), onclick: () => this.csv() }),
      el('span', { class: 'muted', text: t('reports.zone', { zone: this.zone }) }));
    this.form.addEventListener('submit', (event) => { event.preventDefault(); this.load(); });
    this.error = el('p', { id: 'report-error', class: 'form-error', role: 'alert' });
    this.body = el('div', { id: 'report-body', class: 'report-body', 'aria-live': 'polite' });
    this.dialog = el('dialog', { id: 'reports-dialog', class: 'canned-dialog reports-dialog', 'aria-labelledby': 'reports-title' },
      el('div', { class: 'canned-head' },
        el('h2', { id: 'reports-title', text: t('reports.title') }),
        el('button', { type: 'button', id: 'reports-close', class: 'ghost', text: t('team.close'), onclick: () => this.dialog.close() })),
      this.form, this.error, this.body);
    document.body.append(this.dialog);
  }

  async open() {
    this.build();
    this.dialog.showModal();
    await this.load();
  }

  query(extra = {}) {
    return { from: this.from.value, to: this.to.value, tz: this.zone, ...extra };
  }

  async load() {
    this.error.textContent = '';
    if (!this.from.value || !this.to.value || this.from.value > this.to.value) {
      this.error.textContent = t('reports.badRange');
      return;
    }
    try {
      const { report } = await this.api.get(ROUTE, this.query());
      this.render(report);
    } catch (error) {
      this.error.textContent = errorText(error);
    }
  }

  async csv() {
    this.error.textContent = '';
    try {
      const blob = await this.api.blob(`${ROUTE}?${new URLSearchParams(this.query({ format: 'csv' }))}`);
      const url = URL.createObjectURL(blob);
      const link = el('a', { href: url, download: `report-${this.from.value}-${this.to.value}.csv`, hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (error) {
      this.error.textContent = errorText(error);
    }
  }

  render(report) {
    const { overall } = report;
    const cards = el('div', { class: 'report-cards' },
      this.card('conversations', String(overall.conversations)),
      ...TIMINGS.map((name) => this.card(name, duration(overall[name].median_s),
        t('reports.p90', { value: duration(overall[name].p90_s) }))),
      this.card('csat', csatValue(overall.csat), t('reports.csatAnswered', {
        rated: overall.csat.rated, asked: overall.csat.asked,
      })));
    this.body.replaceChildren(
      cards,
      this.chart(report.per_day),
      this.table('agents', report.agents.map((a) => [a.id === null ? t('reports.unassigned') : a.name, a])),
      report.labels.length
        ? this.table('labels', report.labels.map((l) => [labelChip(l), l]))
        : el('p', { class: 'muted', id: 'report-no-labels', text: t('reports.noLabels') }));
  }

  card(name, value, sub = '') {
    return el('div', { class: 'report-card', dataset: { figure: name } },
      el('span', { class: 'report-value', text: value }),
      el('span', { class: 'report-label', text: t(`reports.figure.${name}`) }),
      sub ? el('span', { class: 'muted', text: sub }) : null);
  }

  /** Chats per day as bars; the numbers are in each bar's title and in the CSV. */
  chart(days) {
    const width = 640;
    const height = 140;
    const top = Math.max(1, ...days.map((d) => d.conversations));
    const step = width / days.length;
    const total = days.reduce((sum, d) => sum + d.conversations, 0);
    const label = t('reports.chartLabel', { count: total, days: days.length });
    const bars = days.map((day, i) => {
      const h = Math.round((day.conversations / top) * (height - 20));
      return svg('rect', { x: (i * step + step * 0.15).toFixed(1), y: height - h, width: (step * 0.7).toFixed(1), height: h, class: 'report-bar', 'data-date': day.date },
        svg('title', {}, `${day.date}: ${day.conversations}`));
    });
    return el('figure', { class: 'report-chart' },
      svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': label, preserveAspectRatio: 'none' }, ...bars),
      el('figcaption', { class: 'muted', text: label }));
  }

  table(kind, rows) {
    const head = ['name', 'conversations', ...TIMINGS.flatMap((name) => [`${name}`, `${name}P90`]), 'csat'];
    return el('table', { class: 'team-table report-table', id: `report-${kind}` },
      el('caption', { text: t(`reports.by.${kind}`) }),
      el('thead', {}, el('tr', {}, ...head.map((key) => el('th', { scope: 'col', text: t(`reports.column.${key}`) })))),
      el('tbody', {}, ...rows.map(([name, figures]) => el('tr', { dataset: { id: figures.id ?? 'none' } },
        el('th', { scope: 'row', 'data-user-content': '' }, name),
        el('td', { text: String(figures.conversations) }),
        ...TIMINGS.flatMap((timing) => [
          el('td', { text: duration(figures[timing].median_s) }),
          el('td', { text: duration(figures[timing].p90_s) }),
        ]),
        el('td', { text: csatValue(figures.csat) })))));
  }
}
