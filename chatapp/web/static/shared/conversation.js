// One conversation, for either side: history, live events, catch-up after any gap,
// sending with idempotency keys (retried, never stored twice), typing and read receipts.
import { Thread } from './thread.js';
import { Outbox } from './outbox.js';
import { TypingNotifier, TypingState } from './typing.js';
import { NetworkError, newKey, retryDelay, transient } from './api.js';
import { errorText } from './i18n.js';

// Without a live connection we ask for new messages every few seconds; with one, rarely, in
// case an event was dropped between chatapp and pyreverb while this socket stayed up, and
// only while the conversation is on screen (hooks.pollWhileLive): a closed widget with a
// live socket does not poll at all.
const POLL_OFFLINE_MS = 5000;
const POLL_LIVE_MS = 30000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const online = () => new Promise((resolve) => window.addEventListener('online', resolve, { once: true }));

export class Conversation {
  /**
   * side: 'user' (widget) or 'admin' (panel); me: the signed-in account; realtime may be null.
   * routes: {room(id), messages(id), send(writableRoom, room) -> {path, extra}, typing(id), read(id), upload}
   * hooks: {changed(), incoming(message), typing(names), room(room), roomChanged(room), visible(), read?(receipt),
   *         pollWhileLive?() (false: no polling while the socket is up; call updatePolling() when it changes)}
   * liveEveryMs: how often to poll while the socket is up (the server's live_poll_seconds).
   * outbox: unsent messages (the widget's survives a reload); send() queues them one at a time.
   */
  constructor({ side, me, api, realtime, routes, hooks, outbox = new Outbox(), liveEveryMs = POLL_LIVE_MS }) {
    this.side = side;
    this.me = me;
    this.api = api;
    this.realtime = realtime;
    this.routes = routes;
    this.hooks = hooks;
    this.room = null;
    this.outbox = outbox;
    this.thread = new Thread(side, me.id, outbox);
    this.sending = Promise.resolve(); // sends go out one at a time, in the order written
    this.hasMore = false;
    this.loaded = false;
    this.channelName = null;
    this.catching = null;
    this.catchAgain = false;
    this.typingState = new TypingState((names) => this.hooks.typing(names));
    this.typingNotifier = new TypingNotifier((on) => this.sendTyping(on));
    this.pollTimer = null;
    this.pollEvery = -1;
    this.liveEveryMs = liveEveryMs;
    // "messages after id N" starts here: the newest id that a page from the server (never a live
    // event, never my own send) proved we hold everything up to. Catch-up re-reads a few
    // messages we already show (dropped as duplicates) but can never skip one.
    this.cursor = 0;
    this.roomSeen = 0; // room states applied: a resync's answer is stale when one came meanwhile
    this.readTimer = null;
    this.unwatch = realtime ? realtime.onStatus((status) => this.onStatus(status)) : null;
    this.onVisible = () => { if (document.visibilityState === 'visible') this.resync(); };
    document.addEventListener('visibilitychange', this.onVisible);
    this.updatePolling();
  }

  /** Show ``room``: its newest page of history (``page`` when the caller already has it). */
  async open(room, page = null) {
    this.room = room;
    const doc = page || (await this.api.get(this.routes.messages(room.id), { limit: 50 }));
    if (this.disposed) return;
    for (const message of doc.data) this.thread.add(message);
    this.advance(doc);
    this.hasMore = doc.has_more;
    this.loaded = true;
    this.subscribe();
    this.hooks.changed();
    this.hooks.room(this.room);
    await this.catchUp();
  }

  async loadOlder() {
    if (!this.room || !this.hasMore || this.thread.firstId === null) return 0;
    const doc = await this.api.get(this.routes.messages(this.room.id), { before: this.thread.firstId, limit: 50 });
    let added = 0;
    for (const message of doc.data) if (this.thread.add(message)) added += 1;
    this.hasMore = doc.has_more;
    this.hooks.changed();
    return added;
  }

  // ----------------------------------------------------------------- realtime

  subscribe() {
    if (!this.realtime || !this.room || this.channelName || this.disposed) return;
    this.channelName = `chat.${this.room.id}`;
    this.realtime
      .private(this.channelName)
      .listen('.message.sent', (message) => this.receive(message))
      .listen('.user.typing', (event) => this.onTyping(event))
      .listen('.messages.read', (receipt) => this.onRead(receipt))
      .listen('.room.updated', ({ room }) => this.onRoom(room))
      .subscribed(() => this.resync())
      .error((error) => console.warn('chat: subscription refused', this.channelName, error));
  }

  unsubscribe() {
    if (this.realtime && this.channelName) this.realtime.leave(this.channelName);
    this.channelName = null;
  }

  onStatus(status) {
    this.updatePolling();
    if (status === 'connected') this.resync();
  }

  /** Poll often while the socket is down, rarely while it is up and wanted, else not at all. */
  updatePolling() {
    const live = this.realtime && this.realtime.status === 'connected';
    const wanted = !this.hooks.pollWhileLive || this.hooks.pollWhileLive();
    const every = !live ? POLL_OFFLINE_MS : (wanted ? this.liveEveryMs : 0);
    if (every === this.pollEvery) return;
    clearInterval(this.pollTimer);
    this.pollTimer = null;
    this.pollEvery = every;
    if (every) this.pollTimer = setInterval(() => { if (document.visibilityState === 'visible') this.resync(); }, every);
  }

  /** A newest-first page or a catch-up page is complete up to its last id. */
  advance(page) {
    if (page.last_id != null) this.cursor = Math.max(this.cursor, page.last_id);
  }

  receive(message) {
    if (!this.room || message.room_id !== this.room.id) return;
    if (message.user_id != null) this.typingState.remove(message.user_id);
    if (message.body_truncated) {
      // Too long for one event: fetch the whole message.
      this.api.get(this.routes.messages(this.room.id), { after: message.id - 1, limit: 1 })
        .then((doc) => doc.data.forEach((m) => this.accept(m)))
        .catch(() => this.accept(message));
      return;
    }
    this.accept(message);
    if (this.missedBefore(message)) this.catchUp();
  }

  /** The event names the room's message before it: not holding that one means an event was lost. */
  missedBefore(message) {
    const previous = message.previous_id;
    return previous != null && previous > this.cursor && !this.thread.byId.has(previous);
  }

  accept(message) {
    if (!this.thread.add(message)) return;
    this.hooks.changed();
    if (!this.thread.ours(message)) {
      this.hooks.incoming(message);
      this.scheduleRead();
    }
  }

  onTyping(event) {
    if (!this.room || event.user_id === this.me.id || event.room_id !== this.room.id) return;
    this.typingState.update(event);
  }

  onRead(receipt) {
    if (!this.room || receipt.room_id !== this.room.id || receipt.reader_role === this.side) return;
    if (this.thread.markReadByOther(receipt.up_to_id, receipt.read_at, receipt.ids)) this.hooks.changed();
  }

  onRoom(room) {
    if (!this.room || room.id !== this.room.id) return;
    this.roomSeen += 1;
    this.room = { ...this.room, ...room };
    if (room.status === 'closed' || room.status === 'resolved') this.typingState.clear();
    this.hooks.room(this.room);
  }

  /** Fetch whatever we may have missed (messages and the room's state). A state that arrives
   * after a newer one (a live event, a send's answer) is older than what we show: dropped. */
  resync() {
    if (!this.room || !this.loaded) return;
    this.catchUp();
    const seen = this.roomSeen;
    this.api.get(this.routes.room(this.room.id))
      .then((doc) => seen === this.roomSeen && this.onRoom(doc.room)).catch(() => {});
  }

  async catchUp() {
    if (!this.room || !this.loaded) return;
    if (this.catching) { this.catchAgain = true; return this.catching; }
    const roomId = this.room.id;
    this.catching = (async () => {
      do {
        this.catchAgain = false;
        let more = true;
        while (more && this.room && this.room.id === roomId) {
          const doc = await this.api.get(this.routes.messages(roomId), { after: this.cursor, limit: 100 });
          if (!this.room || this.room.id !== roomId) break;
          for (const message of doc.data) this.accept(message);
          this.advance(doc);
          more = doc.has_more && doc.data.length > 0;
        }
      } while (this.catchAgain);
    })()
      .catch(() => { /* offline: the next resync tries again */ })
      .finally(() => { this.catching = null; });
    return this.catching;
  }

  // ------------------------------------------------------------------ sending

  /** Queue a message (text and/or one file); it shows at once and is retried until stored. */
  send(body, file = null) {
    const text = (body || '').trim();
    if (!text && !file) return null;
    const key = newKey();
    this.outbox.add(key, text, file, this.me.id);
    this.typingNotifier.stop({ silent: true });
    this.hooks.changed();
    return this.enqueue(key);
  }

  /** Send what an earlier page (or a failed session start) left queued, in order. */
  resume() {
    for (const key of this.outbox.queued()) this.enqueue(key);
    this.hooks.changed();
  }

  retry(key) {
    if (!this.outbox.get(key)) return null;
    this.outbox.update(key, { status: 'sending', error: null });
    this.hooks.changed();
    return this.enqueue(key);
  }

  discard(key) {
    this.outbox.remove(key);
    this.hooks.changed();
  }

  /** Each send waits for the one before it: a file sent before a text is stored before it. */
  enqueue(key) {
    const done = this.sending.then(() => this.deliver(key));
    this.sending = done.catch(() => null);
    return done;
  }

  async deliver(key) {
    for (let attempt = 0; !this.disposed; attempt += 1) {
      const job = this.outbox.get(key);
      if (!job || job.status !== 'sending') return null; // discarded, or adopted from a catch-up
      try {
        const file = this.outbox.files.get(key);
        if (file && job.attachmentId === null) {
          const form = new FormData();
          form.append('file', file, file.name);
          const target = this.writableRoom();
          if (target) form.append('room_id', String(target.id));
          const uploaded = await this.api.request('POST', this.routes.upload, { form });
          this.outbox.update(key, { attachmentId: uploaded.attachment.id, roomId: uploaded.attachment.room_id });
        }
        const target = this.writableRoom() || (job.roomId ? { id: job.roomId } : null);
        const { path, extra } = this.routes.send(target, this.room);
        const doc = await this.api.post(path, {
          body: job.body,
          attachment_id: job.attachmentId ?? undefined,
          idempotency_key: key,
          ...extra,
        });
        if (!this.room || doc.room.id !== this.room.id) this.moveTo(doc.room);
        else this.onRoom(doc.room);
        this.thread.confirm(key, doc.message);
        this.hooks.changed();
        return doc.message;
      } catch (error) {
        if (error instanceof NetworkError && !navigator.onLine) {
          await online(); // the browser knows it is offline: send as soon as it is back
          attempt -= 1;
          continue;
        }
        if (transient(error) && attempt < 5) {
          await sleep(retryDelay(attempt, error));
          continue;
        }
        this.outbox.update(key, { status: 'failed', error: errorText(error) });
        this.hooks.changed();
        return null;
      }
    }
    return null;
  }

  /** The room new messages go to: none when it is closed (the next message starts a new chat). */
  writableRoom() {
    return this.room && this.room.status !== 'closed' ? this.room : null;
  }

  /** The visitor's first message (or the first after a closed chat) made a new room. */
  moveTo(room) {
    this.unsubscribe();
    this.thread = new Thread(this.side, this.me.id, this.outbox);
    this.cursor = 0;
    this.typingState.clear();
    this.room = room;
    this.loaded = room !== null;
    this.hasMore = false;
    this.subscribe();
    this.hooks.roomChanged(room);
    this.hooks.room(room);
    if (room) this.catchUp();
  }

  /** Leave a closed chat on screen no more: an empty thread whose first message makes a new room. */
  startOver() {
    if (this.writableRoom()) return;
    this.moveTo(null);
    this.hooks.changed();
  }

  /** Sends queued from now on wait for ``promise`` (e.g. the room still being loaded). */
  holdSends(promise) {
    this.sending = this.sending.then(() => promise).catch(() => null);
  }

  sendTyping(on) {
    const room = this.writableRoom();
    if (!room) return;
    this.api.post(this.routes.typing(room.id), { is_typing: on }).catch(() => {});
  }

  typed(text) { if (this.writableRoom()) this.typingNotifier.input(text); }

  // -------------------------------------------------------------------- read

  /** Mark the other side's messages read, soon, if the conversation is on screen. */
  scheduleRead() {
    clearTimeout(this.readTimer);
    this.readTimer = setTimeout(() => this.markRead(), 150);
  }

  async markRead() {
    if (!this.room || !this.hooks.visible()) return null;
    try {
      const receipt = await this.api.post(this.routes.read(this.room.id));
      if (this.hooks.read) this.hooks.read(receipt);
      return receipt;
    } catch {
      return null;
    }
  }

  dispose() {
    this.disposed = true;
    // Answers still in flight must not touch a view that shows something else by now.
    this.hooks = Object.fromEntries(Object.keys(this.hooks).map((name) => [name, () => false]));
    this.typingNotifier.stop();
    this.unsubscribe();
    this.typingState.clear();
    clearInterval(this.pollTimer);
    clearTimeout(this.readTimer);
    if (this.unwatch) this.unwatch();
    document.removeEventListener('visibilitychange', this.onVisible);
  }
}
