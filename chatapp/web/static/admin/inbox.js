// The room list: statistics, filters, search, pages; kept current by the admin feed.
import { el, ago } from '../shared/dom.js';

const STAT_IDS = { open: 'open', assigned: 'assigned', unassigned: 'unassigned', urgent: 'urgent', unread: 'unread_messages', mine: 'mine' };
const PER_PAGE = 30;

function roomName(room) {
  return (room.user && room.user.name) || `Visitor #${room.user ? room.user.id : '?'}`;
}

export class Inbox {
  /** go(roomId) opens a conversation; me: the signed-in admin. */
  constructor({ api, me, go }) {
    this.api = api;
    this.me = me;
    this.go = go;
    this.root = document.getElementById('inbox');
    this.list = document.getElementById('rooms');
    this.empty = document.getElementById('rooms-empty');
    this.more = document.getElementById('rooms-more');
    this.count = document.getElementById('rooms-count');
    this.search = document.getElementById('search');
    this.filter = new URLSearchParams(location.search).get('filter') || 'open';
    this.query = '';
    this.page = 1;
    this.rooms = new Map();
    this.order = [];
    this.activeId = null;
    this.stats = {};
    this.refreshTimer = null;
    this.statsTimer = null;
    this.loading = null;
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
    this.more.addEventListener('click', () => this.load(this.page + 1));
    this.showFilter();
  }

  async start() {
    await Promise.all([this.load(1), this.loadStats()]);
    this.root.dataset.ready = 'true';
  }

  setFilter(filter) {
    if (filter === this.filter) return;
    this.filter = filter;
    this.showFilter();
    const url = new URL(location.href);
    url.searchParams.set('filter', filter);
    history.replaceState(history.state, '', url);
    this.load(1);
  }

  setQuery(query) {
    if (query.trim() === this.query) return;
    this.query = query.trim();
    this.load(1);
  }

  showFilter() {
    for (const button of document.querySelectorAll('#filters [data-filter]')) {
      button.setAttribute('aria-pressed', String(button.dataset.filter === this.filter));
    }
  }

  /** Page 1 replaces the list; later pages append. */
  async load(page) {
    const filter = this.filter;
    const query = this.query;
    const doc = await this.api.get('/api/admin/chat/rooms', { filter, q: query, page, per_page: PER_PAGE });
    if (filter !== this.filter || query !== this.query) return; // an older answer
    if (page === 1) { this.rooms.clear(); this.order = []; }
    for (const room of doc.data) {
      if (!this.rooms.has(room.id)) this.order.push(room.id);
      this.rooms.set(room.id, room);
    }
    this.page = page;
    this.more.hidden = page >= doc.meta.pages;
    this.count.textContent = `${doc.meta.total} ${doc.meta.total === 1 ? 'conversation' : 'conversations'}`;
    this.render();
    this.root.dataset.shown = `${filter}|${query}`; // what the list holds now
  }

  async loadStats() {
    const { stats } = await this.api.get('/api/admin/chat/stats');
    this.showStats(stats);
  }

  showStats(stats) {
    this.stats = { ...this.stats, ...stats };
    for (const [name, key] of Object.entries(STAT_IDS)) {
      const node = document.getElementById(`stat-${name}`);
      if (node && this.stats[key] !== undefined) node.textContent = String(this.stats[key]);
    }
    this.onTotals(this.stats);
  }

  /** Live events: show the change at once, then re-ask the server for the exact list. */
  upsert(room) {
    if (this.rooms.has(room.id)) {
      this.rooms.set(room.id, { ...this.rooms.get(room.id), ...room });
      this.render();
    }
    this.scheduleRefresh();
  }

  scheduleRefresh() {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => {
      this.load(1).catch(() => {});
      this.loadStats().catch(() => {});
    }, 250);
  }

  markRead(roomId) {
    const room = this.rooms.get(roomId);
    if (room && room.unread_count) {
      room.unread_count = 0;
      this.render();
    }
    this.scheduleRefresh();
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
    const assignee = room.assigned_admin ? (room.assigned_admin.id === this.me.id ? 'You' : room.assigned_admin.name) : null;
    const link = el('a', {
      href: `/admin/chat/${room.id}`,
      'aria-current': room.id === this.activeId ? 'page' : null,
      'aria-label': `${name}${unread ? `, ${unread} unread` : ''}${room.priority === 'urgent' ? ', urgent' : ''}, ${room.status}: ${room.last_message_preview || room.subject || ''}`,
    },
    el('span', { class: 'avatar', 'aria-hidden': 'true', text: name.trim().charAt(0).toUpperCase() || '?' }),
    el('span', { class: 'room-name', text: name }),
    el('time', { class: 'room-time', datetime: room.last_message_at || room.created_at, text: ago(room.last_message_at || room.created_at) }),
    el('span', { class: 'room-preview', text: room.last_message_preview || room.subject || 'No messages yet' }),
    el('span', { class: 'unread-badge', hidden: !unread, text: unread > 99 ? '99+' : String(unread) }),
    el('span', { class: 'chips' },
      el('span', { class: `chip status-${room.status}`, text: room.status }),
      room.priority === 'urgent' ? el('span', { class: 'chip urgent', text: 'urgent' }) : null,
      assignee ? el('span', { class: 'chip', text: `→ ${assignee}` }) : null,
      el('span', { class: 'chip', text: `#${room.id}` })));
    link.addEventListener('click', (event) => {
      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      this.go(room.id);
    });
    return el('li', { class: classes.join(' '), dataset: { id: room.id } }, link);
  }
}
