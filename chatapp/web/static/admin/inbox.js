// The room list: statistics, filters, search, pages; kept current by the admin feed.
//
// Pages after the first continue from the server's cursor (meta.next_cursor), so rooms
// moving meanwhile are neither repeated nor skipped. A live event updates, inserts, moves
// or removes its one room in place; the loaded pages stay. Only a resync (reconnect, a
// gap in the feed, the slow timer) asks the server again, for as many rooms as are shown.
import { el, ago } from '../shared/dom.js';
import { has, t } from '../shared/i18n.js';
import { labelChip } from './labels.js';
import { snoozeText } from './snooze.js';

const STAT_IDS = { open: 'open', assigned: 'assigned', unassigned: 'unassigned', urgent: 'urgent', unread: 'unread_messages', mine: 'mine' };
const PER_PAGE = 30;
// A live event that came while a load was asking the server: the answer may be older than the
// event, and replacing the list with it would undo the event; ask again, up to this many times.
const STALE_TRIES = 3;
const MAX_PER_PAGE = 100;
const ACTIVE = ['open', 'assigned'];

// Which rooms each filter shows: the same rules as the server's ROOM_FILTERS (a snoozed chat
// is in none of the active views until it wakes).
const FILTER_RULES = {
  all: () => true,
  open: (r) => ACTIVE.includes(r.status) && !r.snooze,
  assigned: (r) => r.status === 'assigned' && !r.snooze,
  unassigned: (r) => ACTIVE.includes(r.status) && !r.assigned_admin && !r.snooze,
  urgent: (r) => ACTIVE.includes(r.status) && r.priority === 'urgent' && !r.snooze,
  unread: (r) => (r.unread_count || 0) > 0,
  mine: (r, me) => ACTIVE.includes(r.status) && Boolean(r.assigned_admin) && r.assigned_admin.id === me.id && !r.snooze,
  snoozed: (r) => Boolean(r.snooze),
  resolved: (r) => r.status === 'resolved',
  closed: (r) => r.status === 'closed',
};

/** The list order: urgent active chats first, then newest activity, then newest id. */
function compareRooms(a, b) {
  const rank = (r) => (ACTIVE.includes(r.status) && r.priority === 'urgent' ? 0 : 1);
  const at = (r) => Date.parse(r.last_message_at || r.created_at) || 0;
  return rank(a) - rank(b) || at(b) - at(a) || b.id - a.id;
}

function roomName(room) {
  return (room.user && room.user.name) || t('inbox.visitor', { id: room.user ? room.user.id : '?' });
}

/**
 * The room's last line: a system message in the agent's language (from its code; its stored
 * preview is English), else what someone wrote (user content), else the subject.
 */
function preview(room) {
  const system = room.last_message_system;
  if (system && has(system.code)) return el('span', { class: 'room-preview', text: t(system.code, system.params || {}) });
  const written = room.last_message_preview || room.subject;
  return el('span', { class: 'room-preview', ...(written ? { 'data-user-content': '' } : {}), text: written || t('inbox.noMessages') });
}

export class Inbox {
  /** go(roomId) opens a conversation; me: the signed-in admin; labels: the team's (LabelStore). */
  constructor({ api, me, go, labels }) {
    this.api = api;
    this.me = me;
    this.go = go;
    this.labels = labels;
    this.label = null; // the label filter: a label id, or null for every chat
    this.version = 0; // live events applied so far: a load that saw it move asks again
    this.selected = new Set(); // room ids ticked for a bulk action
    this.onSelection = () => {};
    this.root = document.getElementById('inbox');
    this.list = document.getElementById('rooms');
    this.empty = document.getElementById('rooms-empty');
    this.more = document.getElementById('rooms-more');
    this.count = document.getElementById('rooms-count');
    this.search = document.getElementById('search');
    this.filter = new URLSearchParams(location.search).get('filter') || 'open';
    this.query = '';
    this.page = 1;
    this.cursor = null; // where the next page starts; null when everything is loaded
    this.rooms = new Map();
    // Rooms whose unread count is this agent's own (they have read them): room id -> count. The
    // feed's rooms carry the team's count; these stay this agent's, shown or filtered out.
    this.ownUnread = new Map();
    this.order = [];
    this.activeId = null;
    this.stats = {};
    this.refreshTimer = null;
    this.statsTimer = null;
    this.loading = Promise.resolve(); // the tail of the load queue (see serial())
    this.onTotals = () => {};

    for (const button of document.querySelectorAll('[data-filter]')) {
      button.addEventListener('click', () => this.setFilter(button.dataset.filter));
    }
    let searchTimer = null;
    this.search.addEventListener('input', () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(() => this.setQuery(this.search.value), 250);
    });
    document.getElementById('search-form').addEventListener('submit', (event) => {
      event.preventDefault();
      this.setQuery(this.search.value);
    });
    this.more.addEventListener('click', () => this.loadMore());
    this.labelFilter = el('select', { id: 'label-filter', class: 'label-filter', 'aria-label': t('labels.filter'),
      onchange: () => this.setLabel(Number(this.labelFilter.value) || null) });
    document.getElementById('filters').after(this.labelFilter);
    labels.onChange(() => { this.showLabelFilter(); this.render(); });
    this.showLabelFilter();
    this.showFilter();
  }

  showLabelFilter() {
    if (this.label && !this.labels.byId(this.label)) this.setLabel(null); // deleted meanwhile
    this.labelFilter.replaceChildren(el('option', { value: '', text: t('labels.filterAll') }),
      ...this.labels.labels.map((label) => el('option', { value: String(label.id), text: label.name, 'data-user-content': '' })));
    this.labelFilter.value = this.label ? String(this.label) : '';
    this.labelFilter.hidden = this.labels.labels.length === 0; // a team without labels has nothing to filter by
  }

  setLabel(labelId) {
    if (labelId === this.label) return;
    this.label = labelId;
    this.load();
  }

  /** A chat's labels changed (the feed's room.labels). */
  setLabels(roomId, ids) {
    const room = this.rooms.get(roomId);
    if (room) this.upsert({ ...room, labels: ids });
  }

  select(roomId, on) {
    if (on) this.selected.add(roomId);
    else this.selected.delete(roomId);
    this.onSelection();
  }

  clearSelection() {
    this.selected.clear();
    this.render();
    this.onSelection();
  }

  async start() {
    await Promise.all([this.load(), this.loadStats()]);
    this.root.dataset.ready = 'true';
  }

  setFilter(filter) {
    if (filter === this.filter) return;
    this.filter = filter;
    this.showFilter();
    const url = new URL(location.href);
    url.searchParams.set('filter', filter);
    history.replaceState(history.state, '', url);
    this.load();
  }

  setQuery(query) {
    if (query.trim() === this.query) return;
    this.query = query.trim();
    this.load();
  }

  showFilter() {
    for (const button of document.querySelectorAll('#filters [data-filter]')) {
      button.setAttribute('aria-pressed', String(button.dataset.filter === this.filter));
    }
  }

  /** One page: after ``cursor`` for the list, by number for search results (ranked, not by time). */
  fetchPage({ cursor = null, page = 1, perPage = PER_PAGE } = {}) {
    const params = { filter: this.filter, q: this.query, per_page: perPage };
    if (this.label) params.label = this.label;
    if (cursor) params.before = cursor;
    else params.page = page;
    return this.api.get('/api/admin/chat/rooms', params);
  }

  /** Loads run one after another, so a resync never overwrites a page loaded meanwhile. */
  serial(task) {
    const run = this.loading.then(task, task);
    this.loading = run.catch(() => {});
    return run;
  }

  /** The first page, replacing the list (a new filter or search). */
  load() { return this.serial(() => this.loadFirst()); }

  async loadFirst(tries = STALE_TRIES) {
    const filter = this.filter;
    const query = this.query;
    const label = this.label;
    const version = this.version;
    const doc = await this.fetchPage();
    if (filter !== this.filter || query !== this.query || label !== this.label) return; // an older answer
    if (this.version !== version && tries > 1) return this.loadFirst(tries - 1);
    this.replace(doc.data, doc, 1);
  }

  /** The next page, appended. */
  loadMore() { return this.serial(() => this.loadNext()); }

  async loadNext() {
    const filter = this.filter;
    const query = this.query;
    const doc = this.query ? await this.fetchPage({ page: this.page + 1 }) : await this.fetchPage({ cursor: this.cursor });
    if (filter !== this.filter || query !== this.query) return;
    for (const room of doc.data) {
      this.withOwnCount(room);
      if (!this.rooms.has(room.id)) this.order.push(room.id);
      this.rooms.set(room.id, room);
    }
    this.showPaging(doc, this.page + 1);
    this.render();
  }

  /** Ask the server again for as many rooms as are shown, then swap the list in one go. */
  reload() { return this.serial(() => this.loadAgain()); }

  async loadAgain(tries = STALE_TRIES) {
    const filter = this.filter;
    const query = this.query;
    const version = this.version;
    const want = Math.max(this.order.length, PER_PAGE);
    const rooms = [];
    let doc;
    let page = 0;
    if (query) {
      do {
        page += 1;
        doc = await this.fetchPage({ page });
        rooms.push(...doc.data);
      } while (page < this.page && page < doc.meta.pages);
    } else {
      let cursor = null;
      do {
        doc = await this.fetchPage({ cursor, perPage: Math.min(MAX_PER_PAGE, want - rooms.length) });
        rooms.push(...doc.data);
        cursor = doc.meta.next_cursor;
      } while (cursor && rooms.length < want);
    }
    if (filter !== this.filter || query !== this.query) return;
    if (this.version !== version && tries > 1) return this.loadAgain(tries - 1);
    this.replace(rooms, doc, Math.max(page, 1));
  }

  /** ``room`` with this agent's own unread count where they keep one (and remembers it). */
  withOwnCount(room) {
    if (room.own_read) this.ownUnread.set(room.id, room.unread_count || 0);
    else if (this.ownUnread.has(room.id)) return { ...room, own_read: true, unread_count: this.ownUnread.get(room.id) };
    return room;
  }

  /** The visitor wrote in a room this agent is not looking at: one more unread if the count is theirs. */
  visitorWrote(roomId) {
    if (!this.ownUnread.has(roomId)) return;
    const room = this.rooms.get(roomId);
    const count = this.ownUnread.get(roomId) + 1;
    this.ownUnread.set(roomId, count);
    if (room) this.upsert({ ...room, own_read: true, unread_count: count });
  }

  replace(rooms, doc, page) {
    this.rooms.clear();
    this.order = [];
    for (const room of rooms) this.withOwnCount(room);
    for (const room of rooms) {
      if (!this.rooms.has(room.id)) this.order.push(room.id);
      this.rooms.set(room.id, room);
    }
    this.showPaging(doc, page);
    this.render();
    this.root.dataset.shown = `${this.filter}|${this.query}`; // what the list holds now
  }

  showPaging(doc, page) {
    this.page = page;
    this.cursor = doc.meta.next_cursor || null;
    this.more.hidden = this.query ? page >= doc.meta.pages : !this.cursor;
    this.count.textContent = t('panel.count', { count: doc.meta.total });
  }

  async loadStats() {
    const { stats } = await this.api.get('/api/admin/chat/stats');
    this.showStats(stats);
  }

  /**
   * ``mineByAdmin`` (from the feed): each agent's active chats; this agent's is "mine".
   * ``unreadByAdmin``: the unread messages and chats of the agents keeping their own counts.
   */
  showStats(stats, mineByAdmin = null, unreadByAdmin = null) {
    this.stats = { ...this.stats, ...stats };
    if (mineByAdmin) this.stats.mine = mineByAdmin[String(this.me.id)] || 0;
    const own = unreadByAdmin && unreadByAdmin[String(this.me.id)];
    if (own) Object.assign(this.stats, { unread_messages: own.messages, unread_chats: own.chats });
    for (const [name, key] of Object.entries(STAT_IDS)) {
      const node = document.getElementById(`stat-${name}`);
      if (node && this.stats[key] !== undefined) node.textContent = String(this.stats[key]);
    }
    this.onTotals(this.stats);
  }

  /** A live event: update, insert, move or remove this one room; the other loaded rooms stay. */
  upsert(update) {
    this.version += 1;
    const room = this.withOwnCount(update);
    const known = this.rooms.get(room.id);
    const merged = known ? { ...known, ...room } : room;
    if (this.query) {
      // Search results are ranked by relevance: refresh a shown room, add none.
      if (known) { this.rooms.set(room.id, merged); this.render(); }
      return;
    }
    const rule = FILTER_RULES[this.filter] || FILTER_RULES.all;
    const labelled = !this.label || (merged.labels || []).includes(this.label);
    if (!rule(merged, this.me) || !labelled) {
      if (known) { this.rooms.delete(room.id); this.order = this.order.filter((id) => id !== room.id); this.render(); }
      return;
    }
    const shown = this.order.map((id) => this.rooms.get(id)).filter(Boolean);
    const last = shown[shown.length - 1];
    // Past the last loaded room while more pages exist: it will come with its page.
    if (!known && this.cursor && last && compareRooms(merged, last) > 0) return;
    this.rooms.set(room.id, merged);
    if (!known) this.order.push(room.id);
    this.order.sort((a, b) => compareRooms(this.rooms.get(a), this.rooms.get(b)));
    this.render();
  }

  /** A room that no longer exists (erased with its contact, deleted by retention) leaves the list. */
  remove(roomId) {
    this.version += 1;
    if (!this.rooms.delete(roomId)) return;
    this.order = this.order.filter((id) => id !== roomId);
    this.render();
  }

  /** Every loaded room of one contact, after this agent erased them. */
  removeContact(userId) {
    for (const [id, room] of [...this.rooms]) if (room.user && room.user.id === userId) this.remove(id);
  }

  /** Resync soon (reconnect, a gap in the feed, the slow timer), once for a burst of calls. */
  scheduleRefresh() {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => {
      this.reload().catch(() => {});
      this.loadStats().catch(() => {});
    }, 250);
  }

  /**
   * An agent read ``room`` (the feed's ``room.read``): mine, in another panel of mine, clears my
   * count; another's leaves it, and as the chat's assignee I keep the count I had as my own.
   */
  readBy(room, readerId, assigneeId) {
    if (readerId === this.me.id) { this.markRead(room.id); return; }
    const known = this.rooms.get(room.id);
    if (assigneeId === this.me.id && known && !this.ownUnread.has(room.id)) this.ownUnread.set(room.id, known.unread_count || 0);
    this.upsert(room);
  }

  /** This agent read the room: their own count is 0 from now on (another agent's read is not theirs). */
  markRead(roomId) {
    this.ownUnread.set(roomId, 0);
    const room = this.rooms.get(roomId);
    if (room) this.upsert({ ...room, own_read: true, unread_count: 0 });
  }

  setActive(roomId) {
    this.activeId = roomId;
    this.render();
  }

  render() {
    const focused = document.activeElement && document.activeElement.closest && document.activeElement.closest('.room-item');
    const nodes = this.order.filter((id) => this.rooms.has(id)).map((id) => this.item(this.rooms.get(id)));
    this.list.replaceChildren(...nodes);
    this.empty.hidden = nodes.length > 0;
    if (focused) {
      const again = this.list.querySelector(`.room-item[data-id="${focused.dataset.id}"] a`);
      if (again) again.focus();
    }
  }

  item(room) {
    const name = roomName(room);
    const unread = room.unread_count || 0;
    const classes = ['room-item'];
    if (unread) classes.push('unread');
    if (room.priority === 'urgent') classes.push('urgent');
    if (room.id === this.activeId) classes.push('active');
    const assignee = room.assigned_admin ? (room.assigned_admin.id === this.me.id ? t('inbox.you') : room.assigned_admin.name) : null;
    const link = el('a', {
      href: `/admin/chat/${room.id}`,
      'aria-current': room.id === this.activeId ? 'page' : null,
    },
    el('span', { class: 'avatar', 'aria-hidden': 'true', 'data-user-content': '', text: name.trim().charAt(0).toUpperCase() || '?' }),
    el('span', { class: 'room-name', text: name, 'data-user-content': room.user && room.user.name ? '' : null }),
    el('time', { class: 'room-time', datetime: room.last_message_at || room.created_at, text: ago(room.last_message_at || room.created_at) }),
    preview(room),
    // The link's name is its visible text (WCAG 2.5.3); the bare count gets its word for screen readers.
    el('span', { class: 'unread-badge', hidden: !unread, 'aria-hidden': 'true', text: unread > 99 ? '99+' : String(unread) }),
    unread ? el('span', { class: 'sr-only', text: t('inbox.unreadLabel', { count: unread }) }) : null,
    el('span', { class: 'chips' },
      el('span', { class: `chip status-${room.status}`, text: t(`status.${room.status}`) }),
      room.priority === 'urgent' ? el('span', { class: 'chip urgent', text: t('priority.urgent') }) : null,
      room.left_offline ? el('span', { class: 'chip left-offline', text: t('room.leftOffline') }) : null,
      room.snooze ? el('span', { class: 'chip snoozed', text: snoozeText(room) }) : null,
      assignee ? el('span', { class: 'chip', text: `→ ${assignee}`, 'data-user-content': room.assigned_admin.id === this.me.id ? null : '' }) : null,
      el('span', { class: 'chip', text: `#${room.id}` }),
      ...(room.labels || []).map((id) => this.labels.byId(id)).filter(Boolean).map((label) => labelChip(label))));
    link.addEventListener('click', (event) => {
      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      this.go(room.id);
    });
    const pick = el('input', { type: 'checkbox', class: 'room-select', 'aria-label': t('bulk.select', { name }),
      checked: this.selected.has(room.id), onchange: (event) => this.select(room.id, event.target.checked) });
    return el('li', { class: classes.join(' '), dataset: { id: room.id } }, pick, link);
  }
}
