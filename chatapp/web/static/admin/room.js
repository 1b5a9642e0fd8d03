// One conversation in the panel: messages, reply, typing both ways, state actions, customer details.
import { el, clockTime } from '../shared/dom.js';
import { Composer } from '../shared/composer.js';
import { Conversation } from '../shared/conversation.js';
import { ThreadView, messageLog } from '../shared/thread-view.js';
import { typingText } from '../shared/typing.js';
import { errorText, t } from '../shared/i18n.js';
import { CannedPicker } from './canned.js';
import { AgentStore, MentionPicker, NoteSwitch, decorateNote, mentionedIds, watchNotes } from './notes.js';
import { newKey } from '../shared/api.js';
import { ContactActions } from './contact.js';
import { agentLabel } from './desk.js';
import { RoomLabels } from './labels.js';
import { EarlierConversations } from './earlier.js';
import { SnoozeMenu, snoozeText } from './snooze.js';
import { VisitDetails } from './visit.js';
import { prechatRows } from './prechat.js';

const ROUTES = {
  room: (id) => `/api/admin/chat/rooms/${id}`,
  messages: (id) => `/api/admin/chat/rooms/${id}/messages`,
  send: (target, room) => ({ path: `/api/admin/chat/rooms/${room.id}/messages`, extra: {} }),
  typing: (id) => `/api/admin/chat/rooms/${id}/typing`,
  read: (id) => `/api/admin/chat/rooms/${id}/read`,
  upload: '/api/chat/upload',
};

// Which actions each status allows (mirrors the server's policy; it has the last word).
const ACTIONS = [
  { name: 'assign', label: 'room.action.assign', when: (r, me) => ['open', 'assigned'].includes(r.status) && !(r.assigned_admin && r.assigned_admin.id === me.id) },
  { name: 'unassign', label: 'room.action.unassign', when: (r) => r.status === 'assigned' },
  { name: 'priority', label: 'room.action.priority', when: (r) => ['open', 'assigned', 'resolved'].includes(r.status) },
  { name: 'resolve', label: 'room.action.resolve', when: (r) => ['open', 'assigned'].includes(r.status) },
  { name: 'close', label: 'room.action.close', when: (r) => ['open', 'assigned', 'resolved'].includes(r.status), danger: true },
  { name: 'reopen', label: 'room.action.reopen', when: (r) => ['resolved', 'closed'].includes(r.status) },
];


/** The visitor's e-mail, marked when it is only what they typed at sign-up. */
function emailValue(user) {
  if (!user.email) return '—';
  const email = el('span', { text: user.email, 'data-user-content': '' });
  if (user.email_verified) return email;
  return [email, ' ', el('span', { class: 'chip unverified', title: t('room.unverifiedTitle'), text: t('room.unverified') })];
}

function customerName(room) {
  return (room.user && room.user.name) || t('inbox.visitor', { id: room.user ? room.user.id : '?' });
}

export class RoomPane {
  /** onRead(roomId) after messages were marked read; onBack() returns to the list (narrow screens). */
  /** onErased(userId): the contact of the conversation on screen was erased from here. */
  constructor({ api, realtime, me, config, canned, team, labels, onRead, onBack, onOpen, onRoom, onErased }) {
    this.api = api;
    this.labels = labels; // the team's labels (LabelStore), for the conversation's own
    this.team = team; // the agents with availability and load, for the reassign picker (desk.js)
    this.canned = canned;
    this.realtime = realtime;
    this.me = me;
    this.config = config;
    this.onRead = onRead;
    this.onBack = onBack;
    this.onOpen = onOpen;
    this.onRoomChange = onRoom;
    this.onErased = onErased;
    this.root = document.getElementById('room');
    this.conversation = null;
    this.room = null;
    this.agents = new AgentStore(api);
    watchNotes({ realtime, me, onNote: (note) => this.showNote(note) });
    // The visitor opened another page: the details of the chat on screen follow (admin feed only).
    if (realtime) realtime.private('admin.chat').listen('.room.page', (event) => this.visit && this.visit.page(event));
  }

  build() {
    this.title = el('h2', { id: 'room-title' });
    this.sub = el('p', { class: 'room-sub' });
    // Left through the offline form while nobody could answer (as the inbox's chip says).
    this.leftOffline = el('span', { class: 'chip left-offline', id: 'room-left-offline', hidden: true, text: t('room.leftOffline') });
    this.buttons = {};
    const actions = el('div', { class: 'actions', role: 'toolbar', 'aria-label': t('room.actions') });
    for (const action of ACTIONS) {
      const button = el('button', { type: 'button', class: action.danger ? 'danger' : '', dataset: { action: action.name }, onclick: () => this.act(action.name), text: t(action.label) });
      if (action.name === 'priority') button.setAttribute('aria-pressed', 'false');
      this.buttons[action.name] = button;
      actions.append(button);
    }
    this.snooze = new SnoozeMenu({
      snooze: (until, control) => this.act('snooze', { until: until && until.toISOString() }, control),
      unsnooze: (control) => this.act('unsnooze', null, control),
    });
    actions.append(this.snooze.node);
    // Reassign: every other agent with their status and load; the chosen one gets the chat.
    this.reassign = el('select', {
      class: 'reassign', 'aria-label': t('desk.reassign'),
      onchange: () => this.reassignTo(Number(this.reassign.value)),
      onblur: () => this.room && this.showReassign(this.room),
    });
    actions.append(this.reassign);
    if (this.team) this.team.subscribe(() => this.room && document.activeElement !== this.reassign && this.showReassign(this.room));
    this.detailsToggle = el('button', {
      type: 'button', class: 'details-toggle', 'aria-expanded': 'false', 'aria-controls': 'room-details', text: t('room.detailsToggle'),
      onclick: () => {
        const open = this.root.classList.toggle('show-details');
        this.detailsToggle.setAttribute('aria-expanded', String(open));
      },
    });
    this.contact = new ContactActions({
      api: this.api,
      me: this.me,
      onError: (text) => { this.actionError.textContent = text; },
      onErased: (userId) => this.onErased(userId),
    });
    actions.append(...this.contact.buttons, this.detailsToggle);
    this.actionError = el('p', { class: 'action-error', role: 'alert' });
    this.older = el('button', { type: 'button', class: 'older', hidden: true, text: t('thread.older'), onclick: () => this.conversation.loadOlder() });
    this.list = el('ol', { class: 'messages' });
    this.scroller = el('div', { class: 'scroller' }, this.older, messageLog(this.list));
    this.typing = el('div', { class: 'typing', role: 'status', 'aria-live': 'polite' });
    this.note = el('p', { class: 'note', hidden: true });
    this.composer = new Composer({
      idPrefix: 'reply', placeholder: t('room.replyPlaceholder'),
      maxLength: this.config.limits.max_message_length, maxBytes: this.config.limits.max_upload_bytes,
      onSend: (text, file) => {
        if (this.noteSwitch.note) { this.sendNote(text); return false; } // cleared once stored
        this.conversation.send(text, file);
        return true;
      },
      // A note is for support only: the visitor is not told that someone is typing it.
      onInput: (text) => this.conversation && !this.noteSwitch.note && this.conversation.typed(text),
    });
    this.noteSwitch = new NoteSwitch({ onChange: (note) => this.noteMode(note) });
    this.composer.form.insertBefore(this.noteSwitch.node, this.composer.form.querySelector('.composer-row'));
    this.mentions = new MentionPicker({ agents: this.agents, composer: this.composer, enabled: () => this.noteSwitch.note, me: this.me });
    this.cannedPicker = new CannedPicker({
      store: this.canned, composer: this.composer,
      variables: () => ({ 'visitor.name': (this.room && this.room.user && this.room.user.name) || '', 'agent.name': this.me.name }),
    });
    this.details = el('dl');
    this.earlier = new EarlierConversations({ open: (id) => this.onOpen(id) });
    this.visit = new VisitDetails();
    this.roomLabels = new RoomLabels({ api: this.api, store: this.labels, onError: (text) => { this.actionError.textContent = text; } });
    this.root.replaceChildren(
      el('header', { class: 'room-head' },
        el('a', { class: 'back', href: '/admin/chat', onclick: (event) => { event.preventDefault(); this.onBack(); }, text: t('room.back') }),
        el('div', { class: 'titles' }, this.title, this.sub, this.leftOffline),
        actions),
      this.actionError,
      el('div', { class: 'room-body' },
        el('div', { class: 'conversation' }, this.scroller, this.typing, this.note, this.composer.form),
        el('aside', { id: 'room-details', class: 'details', 'aria-labelledby': 'details-title', tabindex: 0 },
          this.roomLabels.node,
          el('h3', { id: 'details-title', text: t('room.customer') }), this.details, this.visit.node, this.earlier.node)));
    this.threadView = new ThreadView({
      list: this.list, scroller: this.scroller, api: this.api,
      labels: {
        ours: (m) => (m.user_id === this.me.id || m.sender_role === 'local' ? t('thread.you') : m.sender_name || t('thread.support')),
        theirs: (m) => m.sender_name || t('thread.customer'),
      },
      onRetry: (key) => this.conversation.retry(key),
      onDiscard: (key) => this.conversation.discard(key),
      decorate: decorateNote,
    });
  }

  /** Reply to the visitor, or write a private note (yellow, no attachments, "@" mentions agents). */
  noteMode(note) {
    const composer = this.composer;
    composer.form.classList.toggle('note-mode', note);
    composer.placeholder = t(note ? 'notes.placeholder' : 'room.replyPlaceholder');
    if (!composer.input.disabled) composer.input.placeholder = composer.placeholder;
    if (note) {
      composer.clearFile();
      if (this.conversation) this.conversation.typingNotifier.stop(); // "typing…" ends for the visitor
    } else {
      this.mentions.close();
    }
    composer.focus();
  }

  async sendNote(text) {
    const body = text.trim();
    const room = this.room;
    if (!body || !room) return;
    const composer = this.composer;
    composer.sendButton.disabled = true;
    try {
      const doc = await this.api.post(`/api/admin/chat/rooms/${room.id}/notes`, {
        body, mentions: mentionedIds(body, this.mentions.chosen), idempotency_key: newKey(),
      });
      this.showNote(doc.message);
      if (composer.input.value === text) {
        composer.input.value = '';
        composer.grow();
      }
      this.mentions.reset();
    } catch (error) {
      composer.error.textContent = t('notes.failed', { reason: errorText(error) });
    } finally {
      composer.sendButton.disabled = composer.input.disabled;
      composer.focus();
    }
  }

  /** A note of the conversation on screen joins its thread (once: the feed repeats my own). */
  showNote(note) {
    const conversation = this.conversation;
    if (conversation && conversation.room && conversation.room.id === note.room_id) conversation.accept(note);
  }

  /** Open a conversation; ``focusReply`` false leaves the focus where it is (moving through the list by key). */
  async show(roomId, { focusReply = true } = {}) {
    if (this.room && this.room.id === roomId) return;
    this.hide();
    if (!this.title) this.build();
    this.root.hidden = false;
    this.threadView.clear();
    this.title.textContent = t('room.chatNumber', { id: roomId });
    this.sub.textContent = t('room.loading');
    this.actionError.textContent = '';
    this.typing.textContent = '';
    const ticket = (this.ticket = (this.ticket || 0) + 1);
    const doc = await this.api.get(ROUTES.room(roomId)).catch((error) => ({ error }));
    if (ticket !== this.ticket) return; // another conversation was opened meanwhile
    if (doc.error) {
      this.sub.textContent = doc.error.status === 404 ? t('error.room_not_found') : errorText(doc.error);
      return;
    }
    this.room = doc.room;
    this.roomLabels.show(doc.room.id, doc.room.labels);
    this.earlier.show(doc.earlier || []);
    this.visit.show(doc.room.id, doc.context || { pages: [] });
    this.prechat = doc.prechat || []; // the contact's answers to the pre-chat form, for the details pane
    this.conversation = new Conversation({
      side: 'admin', me: this.me, api: this.api, realtime: this.realtime, routes: ROUTES,
      hooks: {
        changed: () => this.render(),
        incoming: () => {},
        typing: (names) => { this.typing.textContent = typingText(names); },
        room: (room) => this.showRoom(room),
        roomChanged: () => {},
        visible: () => document.visibilityState === 'visible' && !this.root.hidden,
        read: (receipt) => this.onRead(receipt.room_id),
      },
    });
    for (const person of doc.typing || []) {
      if (person.user_id !== this.me.id) this.conversation.typingState.update({ ...person, is_typing: true });
    }
    const conversation = this.conversation;
    await conversation.open(doc.room, doc.messages);
    if (ticket !== this.ticket) return;
    conversation.markRead();
    if (focusReply) this.composer.focus();
  }

  hide() {
    this.ticket = (this.ticket || 0) + 1;
    if (this.conversation) this.conversation.dispose();
    this.conversation = null;
    this.room = null;
    this.root.hidden = true;
  }

  render() {
    this.threadView.render(this.conversation.thread);
    this.older.hidden = !this.conversation.hasMore;
  }

  showRoom(room) {
    this.room = room;
    const name = customerName(room);
    this.title.textContent = name;
    if (room.user && room.user.name) this.title.dataset.userContent = '';
    else delete this.title.dataset.userContent;
    let who = t('room.unassigned');
    if (room.assigned_admin) who = room.assigned_admin.id === this.me.id ? t('room.assignedToYou') : t('room.assignedTo', { name: room.assigned_admin.name });
    this.sub.textContent = `#${room.id} · ${t(`status.${room.status}`)} · ${t(`priority.${room.priority}`)} · ${who}`;
    if (room.snooze) this.sub.textContent += ` · ${snoozeText(room)}`;
    this.snooze.show(room);
    for (const action of ACTIONS) this.buttons[action.name].hidden = !action.when(room, this.me);
    this.showReassign(room);
    this.leftOffline.hidden = !room.left_offline;
    this.contact.show(room);
    const urgent = room.priority === 'urgent';
    this.buttons.priority.setAttribute('aria-pressed', String(urgent));
    this.buttons.priority.textContent = t(urgent ? 'room.action.urgentOn' : 'room.action.priority');
    const closed = room.status === 'closed';
    this.composer.setDisabled(closed, t('room.closedPlaceholder'));
    this.note.hidden = !closed && room.status !== 'resolved';
    this.note.textContent = t(closed ? 'room.note.closed' : 'room.note.resolved');
    this.showDetails(room);
    this.onRoomChange(room);
  }

  showDetails(room) {
    const user = room.user || {};
    const people = (text) => el('span', { text, 'data-user-content': '' }); // what people typed: never translated
    const when = (iso) => el('time', { datetime: iso, text: clockTime(iso) });
    const rows = [
      ['name', user.name ? people(user.name) : '—'],
      ['email', emailValue(user)],
      ['type', user.role ? t(`room.role.${user.role}`) : '—'],
      ['customerId', user.id != null ? String(user.id) : '—'],
      ['chat', [`#${room.id}`, room.subject ? [' · ', people(room.subject)] : null]],
      ['status', t(`status.${room.status}`)],
      ['priority', t(`priority.${room.priority}`)],
      ['assignedTo', room.assigned_admin ? people(room.assigned_admin.name) : t('room.detail.nobody')],
      ['started', when(room.created_at)],
      ['lastMessage', room.last_message_at ? when(room.last_message_at) : '—'],
      ['unreadByCustomer', String(room.user_unread_count ?? 0)],
    ];
    if (room.rating) {
      const { score, comment } = room.rating;
      rows.push(['rating', el('span', { class: 'rating', dataset: { score } },
        el('span', { 'aria-hidden': 'true', text: `${'★'.repeat(score)}${'☆'.repeat(5 - score)} ` }),
        t('room.rating.score', { score }),
        comment ? el('q', { class: 'rating-comment', 'data-user-content': '', text: comment }) : null)]);
    }
    if (room.snooze) rows.push(['snoozed', room.snooze.until ? when(room.snooze.until) : t('snooze.nextReply')]);
    if (room.resolved_at) rows.push(['resolved', when(room.resolved_at)]);
    if (room.closed_at) rows.push(['closed', when(room.closed_at)]);
    this.details.replaceChildren(...rows.flatMap(([term, value]) => [el('dt', { text: t(`room.detail.${term}`) }), el('dd', {}, value)]));
    if (this.prechat && this.prechat.length) this.details.append(...prechatRows(this.prechat));
  }

  /** Assigning names the assignee this pane shows, so it never silently takes a chat someone just took. */
  actionBody(name) {
    if (name === 'priority') return { priority: this.room.priority === 'urgent' ? 'normal' : 'urgent' };
    if (name === 'assign') return { expected_admin_id: this.room.assigned_admin ? this.room.assigned_admin.id : null };
    return undefined;
  }

  showReassign(room) {
    const agents = this.team ? this.team.agents : [];
    const current = room.assigned_admin ? room.assigned_admin.id : null;
    const others = agents.filter((agent) => agent.id !== current);
    this.reassign.hidden = !['open', 'assigned'].includes(room.status) || !others.length;
    this.reassign.replaceChildren(
      el('option', { value: '', text: t('desk.reassignTo') }),
      ...others.map((agent) => el('option', { value: String(agent.id), dataset: { status: agent.status }, text: agentLabel(agent) })),
    );
    this.reassign.value = '';
  }

  /** Give the chat to another agent, if its assignee is still the one shown (else who has it now). */
  async reassignTo(agentId) {
    if (!agentId) return;
    await this.act('assign', { admin_id: agentId }, this.reassign);
    if (this.team) this.team.changed();
  }

  /** One state action; ``extra`` joins its body (the reassign picker names the assignee). */
  async act(name, extra = null, control = this.buttons[name]) {
    if (!this.room) return;
    const id = this.room.id;
    const button = control;
    button.disabled = true;
    this.actionError.textContent = '';
    try {
      const body = extra ? { ...this.actionBody(name), ...extra } : this.actionBody(name);
      const doc = await this.api.post(`/api/admin/chat/rooms/${id}/${name}`, body);
      if (this.conversation && this.conversation.room && this.conversation.room.id === id) this.conversation.onRoom(doc.room);
    } catch (error) {
      this.failed(error);
    } finally {
      button.disabled = false;
    }
  }

  /** An action was refused: say why; when another agent took the chat first, who, and show it as it is now. */
  failed(error) {
    if (error.code === 'already_assigned') {
      const winner = error.doc.assigned_to;
      this.actionError.textContent = winner ? t('error.already_assigned', { name: winner.name }) : t('error.assignee_changed');
      if (this.conversation) this.conversation.resync();
    } else {
      this.actionError.textContent = errorText(error);
    }
  }
}
