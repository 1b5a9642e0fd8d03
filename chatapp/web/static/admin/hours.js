// The "Business hours" dialog of the top bar, for the owner and admins (agents do not see the
// button; the server refuses them too): the site's time zone, opening hours per weekday as
// "09:00-12:00, 13:00-17:30", holidays one per line, and what the widget says right now.
// Weekday names come from Intl in the agent's language, so the catalogue holds none.
import { el } from '../shared/dom.js';
import { errorText, intlLocale, t } from '../shared/i18n.js';
import { MANAGERS } from './staff.js';

const ROUTE = '/api/admin/business-hours';
const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const INTERVAL = /^(\d{2}:\d{2})\s*[-–]\s*(\d{2}:\d{2})$/;

/** "Monday".."Sunday" in the agent's language (2024-01-01 was a Monday). */
function dayName(index) {
  return new Intl.DateTimeFormat(intlLocale(), { weekday: 'long', timeZone: 'UTC' }).format(Date.UTC(2024, 0, 1 + index));
}

/** "09:00-12:00, 13:00-17:30" -> [["09:00", "12:00"], ["13:00", "17:30"]]; null when it does not read so. */
export function parseIntervals(text) {
  const parts = text.split(',').map((part) => part.trim()).filter(Boolean);
  const pairs = parts.map((part) => part.match(INTERVAL)).map((m) => (m ? [m[1], m[2]] : null));
  return pairs.includes(null) ? null : pairs;
}

export class HoursDialog {
  constructor({ api, me, after }) {
    this.api = api;
    this.me = me;
    this.after = after;
  }

  start() {
    if (!MANAGERS.includes(this.me.staff_role)) return;
    this.button = el('button', { type: 'button', id: 'hours-button', class: 'ghost', 'aria-haspopup': 'dialog',
      text: t('hours.settings'), onclick: () => this.open() });
    this.after.after(this.button);
  }

  build() {
    if (this.dialog) return;
    this.zone = el('input', { id: 'hours-zone', name: 'time_zone', autocomplete: 'off', list: 'hours-zones', required: true });
    const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
    this.days = DAYS.map((day, index) => el('input', { id: `hours-${day}`, name: day, autocomplete: 'off', placeholder: '09:00-17:30', 'aria-label': dayName(index) }));
    this.holidays = el('textarea', { id: 'hours-holidays', rows: 3, placeholder: '2026-12-25' });
    this.now = el('p', { id: 'hours-now', class: 'muted', role: 'status' });
    this.error = el('p', { id: 'hours-error', class: 'form-error', role: 'alert' });
    this.form = el('form', { id: 'hours-form', class: 'hours-form', onsubmit: (event) => { event.preventDefault(); this.save(); } },
      el('label', { for: 'hours-zone', text: t('hours.settings.zone') }), this.zone,
      el('datalist', { id: 'hours-zones' }, ...zones.map((zone) => el('option', { value: zone }))),
      el('p', { class: 'muted', text: t('hours.settings.hint') }),
      ...this.days.flatMap((input, index) => [el('label', { for: input.id, text: dayName(index) }), input]),
      el('label', { for: 'hours-holidays', text: t('hours.settings.holidays') }), this.holidays,
      this.error,
      el('div', { class: 'hours-actions' },
        el('button', { type: 'submit', id: 'hours-save', text: t('hours.settings.save') }),
        el('button', { type: 'button', id: 'hours-clear', class: 'ghost', text: t('hours.settings.clear'), onclick: () => this.clear() })));
    this.dialog = el('dialog', { id: 'hours-dialog', class: 'canned-dialog hours-dialog', 'aria-labelledby': 'hours-title' },
      el('div', { class: 'canned-head' },
        el('h2', { id: 'hours-title', text: t('hours.settings') }),
        el('button', { type: 'button', id: 'hours-close', class: 'ghost', text: t('team.close'), onclick: () => this.dialog.close() })),
      this.now, this.form);
    document.body.append(this.dialog);
  }

  async open() {
    this.build();
    this.error.textContent = '';
    this.dialog.showModal();
    try {
      this.show(await this.api.get(ROUTE));
    } catch (error) {
      this.error.textContent = errorText(error);
    }
  }

  /** doc: {hours, status} as every business-hours route answers. */
  show(doc, saved = '') {
    const hours = doc.hours;
    this.zone.value = hours ? hours.time_zone : Intl.DateTimeFormat().resolvedOptions().timeZone;
    DAYS.forEach((day, index) => {
      this.days[index].value = hours ? hours.week[day].map((pair) => pair.join('-')).join(', ') : '';
    });
    this.holidays.value = hours ? hours.holidays.join('\n') : '';
    const now = t('hours.settings.now', { text: doc.status.text });
    this.now.textContent = [saved, hours ? '' : t('hours.settings.none'), now].filter(Boolean).join(' ');
  }

  async save() {
    this.error.textContent = '';
    const week = {};
    for (const [index, day] of DAYS.entries()) {
      const pairs = parseIntervals(this.days[index].value);
      if (!pairs) {
        this.error.textContent = t('hours.settings.badInterval', { day: dayName(index) });
        this.days[index].focus();
        return;
      }
      week[day] = pairs;
    }
    const holidays = this.holidays.value.split(/\s+/).filter(Boolean);
    try {
      const json = { time_zone: this.zone.value.trim(), week, holidays };
      this.show(await this.api.request('PUT', ROUTE, { json }), t('hours.settings.saved'));
    } catch (error) {
      this.error.textContent = errorText(error);
    }
  }

  async clear() {
    this.error.textContent = '';
    try {
      this.show(await this.api.request('DELETE', ROUTE));
    } catch (error) {
      this.error.textContent = errorText(error);
    }
  }
}
