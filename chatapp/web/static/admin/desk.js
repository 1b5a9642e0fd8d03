// The desk: my availability, the team (who is online, away or busy, with load and capacity),
// the automatic-assignment switch and the queue of chats waiting for an agent.
//
// The server decides who counts (chatapp.routing): an agent's chosen availability while one of
// their panels is open, away otherwise. Each view asks it again, a moment after anything that
// may change it (agent.updated, routing.updated, room.updated, chat.created, presence).
import { el, ago } from '../shared/dom.js';
import { errorText, t } from '../shared/i18n.js';

export const AVAILABILITIES = ['online', 'away', 'busy'];
export const PRESENCE_SETTLE = 1200; // ms

/** "Olena · Online · 2/5": how an agent is shown in the team list and the reassign picker. */
export function agentLabel(agent) {
  return t('desk.agentLine', { name: agent.name, status: t(`desk.status.${agent.status}`), active: agent.active, capacity: agent.capacity });
}

/** The team as the server sees it, fetched once per change however many views want it. */
export class TeamStore {
  constructor(api) {
    this.api = api;
    this.agents = [];
    this.autoAssign = null;
    this.listeners = new Set();
    this.timers = new Map(); // delay -> its pending timer (a short one never cancels a longer one)
    this.loading = null;
  }

  subscribe(listener) { this.listeners.add(listener); }

  /** Fetch the team; asked while a fetch is under way, fetch once more after it (it may be older than the change). */
  load() {
    if (this.loading) {
      this.again = true;
      return this.loading;
    }
    this.loading = Promise.all([this.api.get('/api/admin/agents'), this.api.get('/api/admin/routing')])
      .then(([team, routing]) => {
        this.agents = team.data;
        this.autoAssign = routing.routing.auto_assign;
        for (const listener of this.listeners) listener(this);
        return this.agents;
      })
      .finally(() => {
        this.loading = null;
        if (this.again) {
          this.again = false;
          this.load().catch((error) => console.warn('team unavailable:', error.message));
        }
      });
    return this.loading;
  }

  /** Ask again shortly: several events in a row cost one request. After a panel joined or left,
   * ``PRESENCE_SETTLE`` later, past the second the server reuses its answer about who is there. */
  changed(delay = 250) {
    clearTimeout(this.timers.get(delay));
    this.timers.set(delay, setTimeout(() => this.load().catch((error) => console.warn('team unavailable:', error.message)), delay));
  }

  agent(id) { return this.agents.find((a) => a.id === id) || null; }
}

/** The availability menu in the top bar: what I choose is kept on my account. */
export class AvailabilityMenu {
  constructor({ api, store, me, select }) {
    this.api = api;
    this.store = store;
    this.me = me;
    this.select = select;
    select.replaceChildren(...AVAILABILITIES.map((value) => el('option', { value, text: t(`desk.availability.${value}`) })));
    select.addEventListener('change', () => this.choose(select.value));
    store.subscribe(() => this.show());
  }

  show() {
    const mine = this.store.agent(this.me.id);
    if (!mine || this.busy) return;
    this.select.value = mine.availability;
    this.select.dataset.status = mine.status;
  }

  async choose(value) {
    this.busy = true;
    try {
      const doc = await this.api.request('PUT', '/api/admin/me/availability', { json: { availability: value } });
      this.select.dataset.status = doc.agent.status;
    } catch (error) {
      console.warn('availability not saved:', errorText(error));
    } finally {
      this.busy = false;
      this.store.changed();
    }
  }

  /** My panel joined presence-admins: the server may give me waiting chats now. */
  arrived() {
    const mine = this.store.agent(this.me.id);
    if (mine && mine.availability === 'online') this.choose('online');
  }
}

/** The team list behind the "agents online" button: status, load and capacity of each agent,
 * and the automatic-assignment switch. */
export class TeamPanel {
  constructor({ api, store, me, button, panel }) {
    this.api = api;
    this.store = store;
    this.me = me;
    this.manages = ['owner', 'admin'].includes(me.staff_role); // agents see the settings, the owner and admins change them
    this.button = button;
    this.panel = panel;
    this.list = el('ul', { class: 'team-list', id: 'team-list' });
    this.auto = el('input', { type: 'checkbox', id: 'auto-assign', disabled: !this.manages, onchange: () => this.switchAuto(this.auto.checked) });
    this.error = el('p', { class: 'form-error', role: 'alert' });
    panel.replaceChildren(
      el('h2', { class: 'team-title', text: t('desk.team') }),
      this.list,
      el('label', { class: 'auto-assign', for: 'auto-assign' }, this.auto, ' ', t('desk.autoAssign')),
      this.error,
    );
    button.addEventListener('click', () => this.toggle());
    store.subscribe(() => this.render());
  }

  toggle() {
    const open = this.panel.hidden;
    this.panel.hidden = !open;
    this.button.setAttribute('aria-expanded', String(open));
    if (open) this.store.changed();
  }

  render() {
    const online = this.store.agents.filter((a) => a.status !== 'away').length;
    this.button.textContent = t('panel.agentsOnline', { count: online });
    this.auto.checked = Boolean(this.store.autoAssign);
    this.list.replaceChildren(...this.store.agents.map((agent) => {
      const capacity = el('input', {
        type: 'number', min: '0', max: '100', value: String(agent.capacity), class: 'capacity', disabled: !this.manages,
        'aria-label': t('desk.capacityOf', { name: agent.name }),
        onchange: (event) => this.setCapacity(agent, event.target.value),
      });
      return el('li', { class: 'team-agent', dataset: { agentId: agent.id, status: agent.status } },
        el('span', { class: `status-dot ${agent.status}`, 'aria-hidden': 'true' }),
        el('span', { class: 'team-name', 'data-user-content': '', text: agent.name }),
        el('span', { class: 'team-status', text: t(`desk.status.${agent.status}`) }),
        el('span', { class: 'team-load', text: t('desk.load', { active: agent.active, capacity: agent.capacity }) }),
        capacity);
    }));
  }

  async setCapacity(agent, value) {
    this.error.textContent = '';
    try {
      await this.api.request('PUT', `/api/admin/agents/${agent.id}/capacity`, { json: { capacity: Number(value) } });
    } catch (error) {
      this.error.textContent = errorText(error);
    }
    this.store.changed();
  }

  async switchAuto(on) {
    this.error.textContent = '';
    try {
      await this.api.request('PUT', '/api/admin/routing', { json: { auto_assign: on } });
    } catch (error) {
      this.error.textContent = errorText(error);
    }
    this.store.changed();
  }
}

/** The queue: chats nobody has yet, oldest first (the order automatic assignment takes them). */
export class QueueView {
  constructor({ api, root, go }) {
    this.api = api;
    this.root = root;
    this.go = go;
    this.summary = el('summary', { class: 'queue-summary' });
    this.list = el('ol', { class: 'queue-list', id: 'queue-list' });
    this.empty = el('p', { class: 'empty', hidden: true, text: t('desk.queueEmpty') });
    root.replaceChildren(this.summary, this.list, this.empty);
    this.timer = null;
    this.show({ data: [], meta: { total: 0 } });
  }

  async load() {
    try {
      this.show(await this.api.get('/api/admin/queue'));
    } catch (error) {
      console.warn('queue unavailable:', error.message);
    }
  }

  changed() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.load(), 250);
  }

  show(doc) {
    const total = doc.meta.total;
    this.root.dataset.count = String(total);
    this.summary.textContent = t('desk.queue', { count: total });
    this.empty.hidden = total > 0;
    this.list.replaceChildren(...doc.data.map((room) => el('li', { class: 'queue-room', dataset: { roomId: room.id } },
      el('button', { type: 'button', class: 'queue-open', onclick: () => this.go(room.id) },
        el('span', { class: 'queue-name', 'data-user-content': '', text: (room.user && room.user.name) || t('panel.aVisitor') }),
        ' ',
        el('span', { class: 'queue-since', text: t('desk.waiting', { since: ago(room.created_at) }) })))));
  }
}
