// The "Audit log" dialog of the top bar, for the owner and admins (agents do not see the
// button; the server refuses them too): who did what, newest first, a page at a time through
// the server's keyset pages. The log keeps ids, never a contact's personal data, so targets
// read "Chat #12"; the agents an assignment names are shown by name from the team list.
import { el } from '../shared/dom.js';
import { errorText, has, intlLocale, t } from '../shared/i18n.js';
import { MANAGERS } from './staff.js';

const ROUTE = '/api/admin/audit';
const PAGE = 50;
const COLUMNS = ['when', 'who', 'action', 'target', 'details'];

export class AuditLog {
  constructor({ api, me, team, button }) {
    this.api = api;
    this.me = me;
    this.team = team;
    this.button = button;
  }

  start() {
    this.button.hidden = !MANAGERS.includes(this.me.staff_role);
    if (!this.button.hidden) this.button.addEventListener('click', () => this.open());
  }

  build() {
    if (this.dialog) return;
    this.rows = el('tbody', { id: 'audit-entries' });
    this.error = el('p', { id: 'audit-error', class: 'form-error', role: 'alert' });
    this.empty = el('p', { id: 'audit-empty', class: 'muted', text: t('audit.empty'), hidden: true });
    this.moreButton = el('button', { type: 'button', id: 'audit-more', class: 'ghost more', text: t('audit.more'), hidden: true,
      onclick: () => this.more() });
    this.dialog = el('dialog', { id: 'audit-dialog', class: 'canned-dialog audit-dialog', 'aria-labelledby': 'audit-title' },
      el('div', { class: 'canned-head' },
        el('h2', { id: 'audit-title', text: t('audit.title') }),
        el('button', { type: 'button', id: 'audit-close', class: 'ghost', text: t('team.close'), onclick: () => this.dialog.close() })),
      el('p', { class: 'muted', text: t('audit.intro') }),
      el('table', { class: 'team-table audit-table' },
        el('thead', {}, el('tr', {}, ...COLUMNS.map((key) => el('th', { scope: 'col', text: t(`audit.column.${key}`) })))),
        this.rows),
      this.empty, this.error, this.moreButton);
    document.body.append(this.dialog);
  }

  async open() {
    this.build();
    this.rows.replaceChildren();
    this.error.textContent = '';
    this.before = null;
    this.dialog.showModal();
    await Promise.all([this.more(), this.team.agents.length ? null : this.team.load().catch(() => {})]);
  }

  /** The next page (the first when nothing is shown yet). */
  async more() {
    this.moreButton.disabled = true;
    try {
      const doc = await this.api.get(ROUTE, { limit: PAGE, ...(this.before ? { before: this.before } : {}) });
      this.rows.append(...doc.data.map((entry) => this.row(entry)));
      this.before = doc.meta.next_before;
      this.moreButton.hidden = this.before === null;
      this.empty.hidden = this.rows.children.length > 0;
    } catch (error) {
      this.error.textContent = errorText(error);
    } finally {
      this.moreButton.disabled = false;
    }
  }

  row(entry) {
    const when = new Date(entry.created_at);
    return el('tr', { dataset: { id: entry.id, action: entry.action } },
      el('td', {}, el('time', { datetime: entry.created_at, text: when.toLocaleString(intlLocale()) })),
      el('td', {}, this.actor(entry.actor)),
      el('td', { text: has(`audit.action.${entry.action}`) ? t(`audit.action.${entry.action}`) : entry.action }),
      el('td', { text: t(`audit.target.${entry.target.type}`, { id: entry.target.id ?? '' }) }),
      el('td', { class: 'muted', text: this.details(entry) }));
  }

  actor({ id, role, name }) {
    const label = t(`audit.role.${role}`);
    if (role === 'system') return label;
    const who = el('span', { 'data-user-content': '', text: name || t('audit.target.user', { id }) });
    return el('span', {}, who, ` · ${label}`);
  }

  agentName(id) {
    if (id === null || id === undefined) return t('audit.nobody');
    const agent = this.team.agent(id);
    return agent ? agent.name : t('audit.target.user', { id });
  }

  /** Assignments read "Olena → Ivan"; other entries list their details as they are (ids, counts). */
  details({ action, details }) {
    if (action === 'room.assign' || action === 'room.unassign') {
      return `${this.agentName(details.from)} → ${this.agentName(details.to)}`;
    }
    if (action === 'team.role') return `${t(`team.role.${details.from}`)} → ${t(`team.role.${details.to}`)}`;
    return Object.entries(details).map(([key, value]) => `${key}: ${value}`).join(', ');
  }
}
