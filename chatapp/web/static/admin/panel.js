// /admin/chat and /admin/chat/{id}: the inbox and one conversation side by side, live.
import { connectRealtime } from './realtime.js';
import { Chime } from '../shared/sound.js';
import { adminApi, loginUrl, signOut } from './session.js';
import { AccountMenu } from './account.js';
import { Inbox } from './inbox.js';
import { FeedSequence, keepFresh } from './feed.js';
import { RoomPane } from './room.js';
import { Notifier } from './notify.js';
import { Lockouts } from './lockouts.js';
import { CannedManager, CannedStore } from './canned.js';
import { LabelManager, LabelStore } from './labels.js';
import { BulkBar } from './bulk.js';
import { TeamManager } from './staff.js';
import { HoursDialog } from './hours.js';
import { PrechatDialog } from './prechat.js';
import { AuditLog } from './audit.js';
import { Shortcuts } from './keys.js';
import { Reports } from './reports.js';
import { LocaleMenu, useAgentLocale } from './locale.js';
import { AvailabilityMenu, PRESENCE_SETTLE, QueueView, TeamPanel, TeamStore } from './desk.js';
import { mailOffNotice } from './mail.js';
import { watchWakes } from './snooze.js';
import { has, t } from '../shared/i18n.js';

function roomIdFromPath() {
  const match = location.pathname.match(/^\/admin\/chat\/(\d+)\/?$/);
  return match ? Number(match[1]) : null;
}

function customer(room) {
  return (room.user && room.user.name) || t('panel.aVisitor');
}

class Panel {
  constructor(api) {
    this.api = api;
    this.layout = document.getElementById('layout');
    this.placeholder = document.getElementById('placeholder');
    this.connection = document.getElementById('connection');
    this.recentlyCreated = new Set();
  }

  async start() {
    let me;
    try {
      me = (await this.api.get('/api/auth/me')).user;
    } catch {
      return; // 401 already sent us to the login page
    }
    if (me.role !== 'admin') { signOut('forbidden'); return; }
    this.me = me;
    await useAgentLocale(this.api, me);
    new LocaleMenu({ api: this.api, select: document.getElementById('locale-select') }).start();
    document.getElementById('me-name').textContent = me.name;
    new AccountMenu({ api: this.api }).start();
    this.canned = new CannedStore(this.api);
    new CannedManager({ store: this.canned, button: document.getElementById('canned-button') }).start();
    this.staff = new TeamManager({ api: this.api, me, button: document.getElementById('team-button') });
    this.staff.start();
    new HoursDialog({ api: this.api, me, after: document.getElementById('team-button') }).start();
    new PrechatDialog({ api: this.api, me, after: document.getElementById('hours-button') }).start();
    this.config = await this.api.get('/api/config');
    if (!this.config.features.mail) mailOffNotice(document.getElementById('connection'));
    this.chime = new Chime('chatapp.admin.muted');
    this.setupSound();
    try {
      this.realtime = await connectRealtime(location.origin, this.api, this.config);
    } catch (error) {
      console.warn('live updates unavailable:', error.message);
      this.realtime = null;
    }
    this.showConnection(this.realtime ? this.realtime.status : 'disabled');
    this.labels = new LabelStore(this.api);
    if (['owner', 'admin'].includes(me.staff_role)) new LabelManager({ store: this.labels, button: document.getElementById('labels-button') }).start();
    this.inbox = new Inbox({ api: this.api, me, go: (id) => this.go(id), labels: this.labels });
    this.inbox.onTotals = () => this.updateTitle();
    this.team = new TeamStore(this.api);
    new AuditLog({ api: this.api, me, team: this.team, button: document.getElementById('audit-button') }).start();
    new Reports({ api: this.api, me, button: document.getElementById('reports-button') }).start();
    this.availability = new AvailabilityMenu({ api: this.api, store: this.team, me, select: document.getElementById('availability-select') });
    new TeamPanel({ api: this.api, store: this.team, me, button: document.getElementById('agents'), panel: document.getElementById('team-panel') });
    this.queue = new QueueView({ api: this.api, root: document.getElementById('queue'), go: (id) => this.go(id) });
    this.room = new RoomPane({
      api: this.api, realtime: this.realtime, me, config: this.config, canned: this.canned, team: this.team, labels: this.labels,
      onRead: (id) => this.inbox.markRead(id),
      onBack: () => this.go(null),
      onOpen: (id) => this.go(id),
      onRoom: (room) => { this.roomName = customer(room); this.inbox.upsert(room); this.updateTitle(); },
      onErased: (userId) => { this.inbox.removeContact(userId); this.go(null); this.inbox.scheduleRefresh(); },
    });
    this.notifier = new Notifier({
      api: this.api, config: this.config, chime: this.chime,
      toasts: document.getElementById('toasts'), button: document.getElementById('notify-button'),
      go: (id) => this.go(id),
    });
    if (this.realtime) this.listen();
    watchWakes({ realtime: this.realtime, me, go: (id) => this.go(id), openId: () => this.room.room && this.room.room.id });
    keepFresh(() => this.inbox.scheduleRefresh());
    const shortcuts = new Shortcuts({ go: (id) => this.go(id, { focusReply: false }), activeId: () => roomIdFromPath() });
    shortcuts.start();
    document.getElementById('keys-button').addEventListener('click', () => shortcuts.help());
    window.addEventListener('popstate', () => this.route());
    if (this.feed) await this.feed.sync(); // before the list loads, so a loss in between is noticed
    new BulkBar({ api: this.api, inbox: this.inbox, team: this.team, labels: this.labels });
    await Promise.all([this.labels.load().catch(() => {}), this.inbox.start(), this.team.load().catch(() => {}), this.queue.load()]);
    new Lockouts({ api: this.api }).start().catch((error) => console.warn('lockouts unavailable:', error.message));
    await this.route();
  }

  setupSound() {
    const button = document.getElementById('sound-button');
    const show = () => {
      button.setAttribute('aria-pressed', String(!this.chime.muted));
      button.textContent = t(this.chime.muted ? 'panel.sound.off' : 'panel.sound.on');
    };
    button.addEventListener('click', () => { this.chime.setMuted(!this.chime.muted); show(); });
    show();
  }

  /** Someone joined the team or their role or access changed; a new role of mine shows after a reload. */
  teamUpdated(member) {
    if (member.id === this.me.id && member.role !== this.me.staff_role) { location.reload(); return; }
    this.team.changed();
    this.staff.changed();
  }

  showConnection(status) {
    this.connection.dataset.status = status;
    this.connection.textContent = has(`panel.connection.${status}`) ? t(`panel.connection.${status}`) : status;
  }

  /** The admin feed (new chats, messages, state changes, stats) and who of support is online. */
  listen() {
    const feed = new FeedSequence(
      () => this.api.get('/api/admin/status').then((doc) => doc.outbox.feed_seq),
      () => this.inbox.scheduleRefresh(),
    );
    this.feed = feed;
    this.realtime.onStatus((status) => {
      this.showConnection(status);
      if (status === 'connected') feed.sync().then(() => this.inbox.scheduleRefresh());
    });
    const once = (handler) => (event) => { if (feed.accept(event)) handler(event); };
    this.realtime.private('admin.chat')
      .listen('.chat.created', once(({ room }) => this.chatCreated(room)))
      .listen('.chat.message', once(({ room, message }) => this.chatMessage(room, message)))
      .listen('.room.updated', once(({ room }) => this.roomUpdated(room)))
      .listen('.labels.updated', once(({ labels }) => this.labels.set(labels)))
      .listen('.room.labels', once(({ room_id: id, labels }) => { this.inbox.setLabels(id, labels); if (this.room.roomLabels) this.room.roomLabels.changed(id, labels); }))
      .listen('.room.read', once(({ room, reader_id: reader, assignee_id: assignee }) => this.inbox.readBy(room, reader, assignee)))
      .listen('.room.removed', once(({ room_id: id }) => this.roomRemoved(id)))
      .listen('.agent.updated', once(() => this.team.changed()))
      .listen('.routing.updated', once(() => { this.team.changed(); this.queue.changed(); }))
      .listen('.team.updated', once(({ member }) => this.teamUpdated(member)))
      .listen('.stats.updated', ({ stats, mine_by_admin: mine, unread_by_admin: unread }) => this.inbox.showStats(stats, mine, unread));
    // Who of support has a panel open: the server counts it in each agent's status.
    this.realtime.join('admins')
      .here(() => {
        this.team.load().then(() => this.availability.arrived()).catch(() => {});
        this.team.changed(PRESENCE_SETTLE);
      })
      .joining(() => this.team.changed(PRESENCE_SETTLE))
      .leaving(() => this.team.changed(PRESENCE_SETTLE));
  }

  roomUpdated(room) {
    this.inbox.upsert(room);
    // The feed's room carries support's own fields (its snooze), which the chat's channel never does.
    if (this.room.conversation) this.room.conversation.onRoom(room);
    this.queue.changed();
    this.team.changed();
  }

  viewing(roomId) {
    return this.room.room && this.room.room.id === roomId && document.visibilityState === 'visible' && document.hasFocus();
  }

  chatCreated(room) {
    this.inbox.upsert(room);
    this.queue.changed();
    this.recentlyCreated.add(room.id);
    setTimeout(() => this.recentlyCreated.delete(room.id), 5000);
    this.notifier.announce({
      title: t('panel.newChat', { name: customer(room) }),
      body: room.last_message_preview || room.subject || t('panel.waitingFirst'),
      roomId: room.id, urgent: room.priority === 'urgent',
    });
  }

  chatMessage(room, message) {
    this.inbox.upsert(room);
    if (message.system && message.system.code === 'chat.joined') this.joined(room);
    if (message.sender_role !== 'user') return;
    const viewing = this.viewing(room.id);
    if (!viewing) this.inbox.visitorWrote(room.id);
    if (this.recentlyCreated.delete(room.id)) return; // announced as a new chat a moment ago
    const text = message.body || (message.attachment ? `📎 ${message.attachment.name}` : '');
    if (viewing) {
      this.chime.play();
      return;
    }
    const title = room.priority === 'urgent' ? t('panel.urgentTitle', { name: customer(room) }) : customer(room);
    this.notifier.announce({ title, body: text, roomId: room.id, urgent: room.priority === 'urgent' });
  }

  /** Someone joined a chat (routing or another agent gave it): when it is me, a toast and a sound. */
  joined(room) {
    this.queue.changed();
    this.team.changed();
    if (!room.assigned_admin || room.assigned_admin.id !== this.me.id || this.viewing(room.id)) return;
    this.notifier.announce({
      title: t('desk.assignedToYou', { name: customer(room) }),
      body: room.subject || room.last_message_preview || t('panel.waitingFirst'), // the subject: the first words the visitor wrote
      roomId: room.id, urgent: room.priority === 'urgent',
    });
  }

  /** A chat erased with its contact, or deleted by retention: it leaves the list and the screen. */
  roomRemoved(roomId) {
    this.inbox.remove(roomId);
    if (this.room.room && this.room.room.id === roomId) this.go(null);
    this.inbox.scheduleRefresh(); // the statistics changed too
  }

  go(roomId, options = {}) {
    const path = roomId ? `/admin/chat/${roomId}` : '/admin/chat';
    if (location.pathname !== path) history.pushState({}, '', path + location.search);
    this.route(options);
  }

  async route(options = {}) {
    const roomId = roomIdFromPath();
    this.layout.dataset.view = roomId ? 'room' : 'inbox';
    this.inbox.setActive(roomId);
    this.placeholder.hidden = Boolean(roomId);
    if (roomId) await this.room.show(roomId, options);
    else { this.room.hide(); this.roomName = null; this.updateTitle(); }
  }

  /** "(3) Olena · Support inbox": unread messages across all chats, then where I am. */
  updateTitle() {
    const unread = (this.inbox && this.inbox.stats.unread_messages) || 0;
    const title = `${this.roomName ? `${this.roomName} · ` : ''}${t('panel.title')}`;
    document.title = unread ? t('panel.titleWithUnread', { count: unread, title }) : title;
  }
}

const api = adminApi();
if (!api) location.assign(loginUrl());
else new Panel(api).start().catch((error) => {
  console.error(error);
  document.getElementById('connection').textContent = t('panel.error', { reason: error.message });
});
