// The embeddable support chat: boot() is called by /widget.js with the page's options.
import { Api, ApiError, newKey, retryDelay, transient } from '../shared/api.js';
import { Outbox } from '../shared/outbox.js';
import { Thread } from '../shared/thread.js';
import { Chime } from '../shared/sound.js';
import { currentLocale, errorText, loadCatalogue, t } from '../shared/i18n.js';
import { WidgetView } from './view.js';
import { SessionStore, resolveSession, newGuest } from './session.js';

// title, subtitle and greeting default to the catalogue's text in the visitor's language.
const DEFAULTS = {
  title: '',
  subtitle: '',
  greeting: '',
  locale: '',
  position: 'right',
  color: '',
  accent: '',
  theme: 'auto',
  label: '',
  requireLogin: false,
  name: '',
  identity: '',
  token: '',
};

const VISITOR_ROUTES = {
  room: (id) => `/api/chat/rooms/${id}`,
  messages: (id) => `/api/chat/rooms/${id}/messages`,
  send: (target) => ({ path: '/api/chat/messages', extra: target ? { room_id: target.id } : {} }),
  typing: (id) => `/api/chat/rooms/${id}/typing`,
  read: (id) => `/api/chat/rooms/${id}/read`,
  upload: '/api/chat/upload',
};

// A guest session that cannot be made is tried this many more times before the message shows "Not sent".
const GUEST_RETRIES = 2;
// How often an open widget asks again whether anyone can answer (a closed one, or one in a tab in the
// background, never asks); opening asks too, unless the answer (first the one /api/config brings) is
// younger than STATUS_FRESH_MS.
const STATUS_EVERY_MS = 60000;
const STATUS_FRESH_MS = 15000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function normalise(raw) {
  const options = { ...DEFAULTS };
  for (const name of Object.keys(DEFAULTS)) if (raw[name] !== undefined && raw[name] !== null) options[name] = raw[name];
  options.requireLogin = options.requireLogin === true || options.requireLogin === 'true';
  for (const name of ['title', 'subtitle', 'greeting']) options[name] = options[name] || t(`widget.${name}`);
  // A bare data-label (no text) asks for the catalogue's label, in the visitor's language.
  if (raw.label === '' || raw.label === true) options.label = t('widget.launcher.label');
  return options;
}

export class Widget {
  /** launcherCss: the launcher's rules, handed over by the loader (boot). */
  constructor(base, rawOptions, launcherCss = '') {
    this.base = base;
    this.options = normalise(rawOptions);
    this.store = new SessionStore(base);
    this.api = new Api(base, { onUnauthorized: () => this.sessionExpired() });
    this.listeners = new Map();
    this.chime = new Chime('chatapp.widget.muted');
    this.chime.onPlay(() => this.emit('sound'));
    this.me = null;
    this.config = null;
    this.realtime = null;
    this.conversation = null;
    this.userChannel = null;
    this.isOpen = false;
    this.unread = 0;
    this.starting = null;
    // What the visitor wrote and the server has not stored yet, kept across reloads.
    this.outbox = new Outbox(`chatapp.widget.outbox:${base}`);
    this.draft = new Thread('user', null, this.outbox); // shown until there is a conversation
    this.view = new WidgetView({
      options: this.options,
      api: this.api,
      launcherCss,
      actions: {
        toggle: () => (this.isOpen ? this.close() : this.open()),
        close: () => this.close(true),
        send: (text, file) => this.send(text, file),
        input: (text) => this.conversation && this.conversation.typed(text),
        mute: () => this.setMuted(!this.chime.muted),
        older: () => this.conversation && this.conversation.loadOlder(),
        endChat: () => this.endChat(),
        retry: (key) => this.retry(key),
        discard: (key) => this.discard(key),
        startOver: () => this.startOver(),
        forget: () => import('./forget.js').then((m) => m.forget(this, t, errorText)),
        leave: () => import('./offline.js').then((m) => m.leave(this, errorText)),
      },
    });
    this.view.setMuted(this.chime.muted);
    this.onVisibility = () => { if (document.visibilityState === 'visible' && this.isOpen) this.markRead(); };
    document.addEventListener('visibilitychange', this.onVisibility);
  }

  // ------------------------------------------------------------------ events

  on(name, listener) {
    if (!this.listeners.has(name)) this.listeners.set(name, new Set());
    this.listeners.get(name).add(listener);
  }

  off(name, listener) { if (this.listeners.has(name)) this.listeners.get(name).delete(listener); }

  emit(name, detail) {
    for (const listener of this.listeners.get(name) || []) {
      try { listener(detail); } catch (error) { console.error(error); }
    }
  }

  // --------------------------------------------------------------- lifecycle

  async start() {
    this.view.mount();
    this.config = await this.api.get('/api/config', { prefer: currentLocale() });
    this.showStatus(this.config.status);
    this.view.composer.maxBytes = this.config.limits.max_upload_bytes;
    this.view.composer.input.maxLength = this.config.limits.max_message_length;
    await this.signIn();
    this.renderThread();
    // Stay open across page loads; a Web Push notification links to "?chat=open".
    let reopen = new URLSearchParams(location.search).get('chat') === 'open';
    try { reopen = reopen || sessionStorage.getItem('chatapp.widget.open') === '1'; } catch { /* ignore */ }
    this.view.host.dataset.ready = 'true';
    if (reopen && this.visible()) await this.open();
    this.emit('ready', { user: this.me });
  }

  visible() {
    if (this.me) return true;
    return !this.options.requireLogin && this.config && this.config.features.guests;
  }

  async signIn() {
    let session = null;
    try {
      session = await resolveSession(this.api, this.store, this.options);
    } catch (error) {
      console.warn('chat: could not sign in with the site identity:', error.message);
    }
    if (session) await this.useToken(session.token);
    this.view.setVisible(this.visible());
    this.handOverLauncher();
  }

  /** The loader's stand-in launcher goes once this widget's own is shown (or known hidden). */
  handOverLauncher() {
    if (!this.placeholder) return;
    this.placeholder.handOver(this.visible() ? this.view.launcher : null);
    this.placeholder = null;
  }

  /** known: {user, fresh} when the token was just made here (a new guest has no chats to load yet). */
  async useToken(token, known = {}) {
    this.api.token = token;
    try {
      this.me = known.user || (await this.api.get('/api/auth/me')).user;
      if (this.config.features.mail && this.me.email) import('./transcript.js').then((m) => m.offer(this, t, errorText));
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return;
      throw error;
    }
    await this.connect(Boolean(known.fresh));
  }

  async connect(fresh = false) {
    // The conversation code and pusher-js load only once there is a chat to show.
    const { connectRealtime, Conversation } = await import('./live.js');
    try {
      this.realtime = await connectRealtime(this.api, this.config);
    } catch (error) {
      console.warn('chat: live updates unavailable:', error.message);
      this.realtime = null;
    }
    if (this.realtime) {
      this.realtime.onStatus((status) => { this.view.setBanner(status); this.emit('connection', status); });
      this.userChannel = `user.${this.me.id}`;
      this.realtime.private(this.userChannel)
        .listen('.unread.updated', ({ unread_count: count }) => this.serverUnread(count));
    }
    this.conversation = new Conversation({
      side: 'user', me: this.me, api: this.api, realtime: this.realtime, routes: VISITOR_ROUTES, outbox: this.outbox,
      liveEveryMs: (Number(this.config && this.config.live_poll_seconds) || 30) * 1000,
      hooks: {
        changed: () => this.renderThread(),
        incoming: (message) => this.incoming(message),
        typing: (names) => this.view.setTyping(names),
        room: (room) => {
          this.view.setRoom(room, this.options.subtitle);
          this.rate(room);
          import('./context.js').then((m) => m.report(this.api, room)); // where the visitor is, for support
          import('./push.js').then((m) => m.offer(this, room, errorText)); // the visitor wrote: tell them of replies?
        },
        roomChanged: () => this.view.threadView.clear(),
        visible: () => this.isOpen && document.visibilityState === 'visible',
        pollWhileLive: () => this.isOpen,
      },
    });
    const loading = fresh ? Promise.resolve() : this.loadRoom(this.conversation);
    this.conversation.holdSends(loading);
    await loading;
    this.conversation.resume();
  }

  /** The current conversation, else the latest closed one (still readable, with its notice). */
  async loadRoom(conversation) {
    const [{ room: current, rooms }, { unread_count: unread }] = await Promise.all([
      this.api.get('/api/chat/room'), this.api.get('/api/chat/unread'),
    ]);
    this.setUnread(unread);
    const room = current || (await this.api.get('/api/chat/rooms', { per_page: 1 })).data[0] || null;
    if (room) await conversation.open(room);
    if (rooms > 1) this.history();
  }

  /** "Previous conversations" (history.js, its own chunk): for a visitor with more than the one on screen. */
  history() { import('./history.js').then((m) => m.entry(this, t, errorText)); }

  renderThread() {
    const thread = this.conversation ? this.conversation.thread : this.draft;
    this.view.threadView.render(thread);
    this.view.setOlder(Boolean(this.conversation && this.conversation.hasMore));
  }

  incoming(message) {
    if (message.sender_role === 'system') return;
    this.emit('message', message);
    this.chime.play();
    if (!this.isOpen || document.visibilityState !== 'visible') this.setUnread(this.unread + 1);
  }

  serverUnread(count) {
    if (count > 0 && this.isOpen && document.visibilityState === 'visible') {
      this.markRead();
      return;
    }
    this.setUnread(count);
  }

  setUnread(count) {
    this.unread = Math.max(0, count);
    this.view.setUnread(this.unread);
    this.emit('unread', this.unread);
  }

  async markRead() {
    if (!this.conversation || !this.conversation.room) return;
    this.setUnread(0);
    await this.conversation.markRead();
  }

  // ----------------------------------------------------------------- actions

  async open() {
    if (this.view.host.dataset.ready !== 'true') await this.started.catch(() => {});
    if (!this.visible()) return;
    this.isOpen = true;
    this.view.setOpen(true);
    if (Date.now() - this.statusAt > STATUS_FRESH_MS) this.checkStatus();
    clearInterval(this.statusTimer); // open() again while open: still one timer
    this.statusTimer = setInterval(() => document.hidden || this.checkStatus(), STATUS_EVERY_MS);
    try { sessionStorage.setItem('chatapp.widget.open', '1'); } catch { /* ignore */ }
    if (this.conversation) this.conversation.updatePolling();
    this.emit('open');
    if (!this.me) await this.ensureGuest();
    // The site's pre-chat form (prechat.js), before a first chat: loaded only when the site has one.
    if (this.config.features.prechat) import('./prechat.js').then((m) => m.ask(this, errorText));
    if (this.unread > 0 || (this.conversation && this.conversation.room)) this.markRead();
  }

  close(returnFocus = false) {
    if (!this.isOpen) return;
    this.isOpen = false;
    this.view.setOpen(false);
    clearInterval(this.statusTimer);
    if (this.conversation) this.conversation.typingNotifier.stop();
    try { sessionStorage.removeItem('chatapp.widget.open'); } catch { /* ignore */ }
    if (this.conversation) this.conversation.updatePolling();
    if (returnFocus) this.view.launcher.focus();
    this.emit('close');
  }

  /** A resolved or closed chat not rated yet: the satisfaction question (rating.js, its own chunk). */
  rate(room) {
    if (this.view.ratingBox || (room && /^(resolved|closed)$/.test(room.status) && !room.rating)) {
      import('./rating.js').then((m) => m.ask(this, room, currentLocale(), errorText));
    }
  }

  /** Online or away (business hours, an agent there), in the visitor's language: GET /api/chat/status. */
  async checkStatus() {
    try {
      this.showStatus(await new Api(this.base).get('/api/chat/status', { prefer: currentLocale() }));
    } catch { /* the subtitle stays as it was */ }
  }

  showStatus(doc) {
    this.statusAt = Date.now();
    if (doc) this.view.setStatus(doc);
  }

  /** Make a guest session (retrying a busy server a little); what is queued goes out once it exists. */
  ensureGuest() {
    if (!this.starting) {
      this.starting = this.newGuestSession()
        .then((session) => this.useToken(session.token, { user: session.user, fresh: true }))
        .catch((error) => {
          const reason = t('widget.cannotStart', { reason: errorText(error) });
          this.view.composer.error.textContent = reason;
          this.outbox.failQueued(reason);
          this.renderThread();
        })
        .finally(() => { this.starting = null; });
    }
    return this.starting;
  }

  async newGuestSession() {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await newGuest(this.api, this.store, this.options.name);
      } catch (error) {
        if (!transient(error) || attempt >= GUEST_RETRIES) throw error;
        await sleep(retryDelay(attempt, error));
      }
    }
  }

  /** Always accepted: the message shows at once and stays (even across a reload) until stored. */
  send(text, file) {
    if (this.conversation) {
      this.conversation.send(text, file);
      return true;
    }
    if (!(text || '').trim() && !file) return false;
    this.outbox.add(newKey(), (text || '').trim(), file, null);
    this.renderThread();
    if (!this.me) this.ensureGuest();
    return true;
  }

  retry(key) {
    if (this.conversation) return this.conversation.retry(key);
    if (!this.outbox.update(key, { status: 'sending', error: null })) return null;
    this.renderThread();
    return this.me ? null : this.ensureGuest();
  }

  discard(key) {
    if (this.conversation) return this.conversation.discard(key);
    this.outbox.remove(key);
    this.renderThread();
    return null;
  }

  startOver() {
    if (!this.conversation) return;
    this.conversation.startOver();
    this.history();
    this.view.composer.focus();
  }

  async endChat() {
    const room = this.conversation && this.conversation.room;
    if (!room) return;
    try {
      const doc = await this.api.post(`/api/chat/rooms/${room.id}/close`);
      this.conversation.onRoom(doc.room);
    } catch (error) {
      this.view.composer.error.textContent = errorText(error);
    }
  }

  setMuted(muted) {
    this.chime.setMuted(muted);
    this.view.setMuted(this.chime.muted);
  }

  // ----------------------------------------------------------- host page API

  async identify(identity) {
    await this.reset();
    this.options.identity = identity || '';
    this.options.token = '';
    await this.signIn();
  }

  async setToken(token) {
    await this.reset();
    this.options.token = token || '';
    this.options.identity = '';
    await this.signIn();
  }

  async logout() {
    const owned = this.store.load();
    if (owned && owned.token === this.api.token) {
      // A token this widget obtained (guest, site identity) is revoked on the server too.
      try { await this.api.post('/api/auth/logout'); } catch { /* offline or already revoked: gone here anyway */ }
    }
    await this.reset();
    this.store.clear();
    this.outbox.clear();
    this.renderThread();
    this.options.identity = '';
    this.options.token = '';
    this.view.setVisible(this.visible());
  }

  async reset() {
    if (this.conversation) this.conversation.dispose();
    if (this.realtime) this.realtime.disconnect();
    this.conversation = null;
    this.realtime = null;
    this.me = null;
    this.api.token = null;
    this.view.threadView.clear();
    this.view.setRoom(null, this.options.subtitle);
    this.view.setBanner('connected');
    this.view.setTyping([]);
    this.setUnread(0);
  }

  sessionExpired() {
    this.store.clear();
    this.reset();
    this.view.setVisible(this.visible());
  }

  destroy() {
    clearInterval(this.statusTimer);
    this.reset();
    document.removeEventListener('visibilitychange', this.onVisibility);
    this.view.host.remove();
  }
}

/** The visitor's languages, best first: the tag's data-locale, the host page's <html lang>, the browser's. */
export function visitorLocales(tagLocale) {
  return [tagLocale, document.documentElement.lang, ...(navigator.languages || [navigator.language])].filter(Boolean);
}

/** Called by /widget.js: replace the queued stubs of window.ChatWidget with the real methods. */
export async function boot(base, options, publicApi, queue, placeholder = null, launcherCss = '') {
  await loadCatalogue(new Api(base), visitorLocales(options.locale), 'widget');
  const widget = new Widget(base, options, launcherCss);
  widget.placeholder = placeholder;
  const methods = ['open', 'close', 'identify', 'setToken', 'logout', 'on', 'off', 'setMuted', 'destroy'];
  for (const name of methods) publicApi[name] = (...args) => widget[name](...args);
  publicApi.toggle = () => (widget.isOpen ? widget.close() : widget.open());
  publicApi.unread = () => widget.unread;
  publicApi.isMuted = () => widget.chime.muted;
  const early = queue.splice(0);
  for (const [name, args] of early.filter(([n]) => n === 'on' || n === 'off')) widget[name](...args);
  widget.started = widget.start().finally(() => widget.handOverLauncher());
  await widget.started;
  for (const [name, args] of early.filter(([n]) => n !== 'on' && n !== 'off')) await publicApi[name](...args);
  return widget;
}
