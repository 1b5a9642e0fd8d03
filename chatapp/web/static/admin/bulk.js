// Bulk actions on the chats selected in the inbox: assign them to an agent, add a label, resolve.
// The server changes each chat on its own and answers for each; the live feed moves the rows.
import { el } from '../shared/dom.js';
import { errorText, t } from '../shared/i18n.js';
import { agentLabel } from './desk.js';

export class BulkBar {
  /** inbox: its ``selected`` set and ``onSelection``; team: TeamStore; labels: LabelStore. */
  constructor({ api, inbox, team, labels }) {
    this.api = api;
    this.inbox = inbox;
    this.team = team;
    this.labels = labels;
    this.count = el('span', { class: 'bulk-count', role: 'status' });
    this.assignee = el('select', { id: 'bulk-assign', 'aria-label': t('bulk.assign'), onchange: () => this.assign() });
    this.label = el('select', { id: 'bulk-label', 'aria-label': t('bulk.label'), onchange: () => this.addLabel() });
    this.result = el('p', { id: 'bulk-result', class: 'bulk-result', role: 'status' });
    this.node = el('div', { id: 'bulk-bar', class: 'bulk-bar', role: 'toolbar', 'aria-label': t('bulk.toolbar'), hidden: true },
      this.count, this.assignee, this.label,
      el('button', { type: 'button', id: 'bulk-resolve', text: t('bulk.resolve'), onclick: () => this.run({ action: 'resolve' }) }),
      el('button', { type: 'button', id: 'bulk-clear', class: 'ghost', text: t('bulk.clear'), onclick: () => inbox.clearSelection() }));
    document.getElementById('rooms').before(this.node, this.result);
    inbox.onSelection = () => this.show();
    team.subscribe(() => this.options());
    labels.onChange(() => this.options());
    this.options();
  }

  options() {
    this.assignee.replaceChildren(el('option', { value: '', text: t('bulk.assign') }),
      ...this.team.agents.map((agent) => el('option', { value: String(agent.id), text: agentLabel(agent) })));
    this.label.replaceChildren(el('option', { value: '', text: t('bulk.label') }),
      ...this.labels.labels.map((label) => el('option', { value: String(label.id), text: label.name, 'data-user-content': '' })));
  }

  show() {
    const count = this.inbox.selected.size;
    this.node.hidden = count === 0;
    this.count.textContent = t('bulk.selected', { count });
  }

  assign() {
    const id = Number(this.assignee.value);
    if (id) this.run({ action: 'assign', admin_id: id });
  }

  addLabel() {
    const id = Number(this.label.value);
    if (id) this.run({ action: 'label', label_id: id });
  }

  async run(fields) {
    const roomIds = [...this.inbox.selected];
    this.result.textContent = '';
    try {
      const { results } = await this.api.post('/api/admin/chat/rooms/bulk', { room_ids: roomIds, ...fields });
      const done = results.filter((r) => r.ok).length;
      this.result.textContent = t('bulk.done', { done, count: results.length });
      this.inbox.clearSelection();
      this.inbox.scheduleRefresh();
    } catch (error) {
      this.result.textContent = errorText(error);
    } finally {
      this.options(); // the pickers show their prompt again
    }
  }
}
