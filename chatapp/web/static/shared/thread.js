// The messages of one conversation: ordered by id, each stored once, plus my unsent ones.
import { Outbox } from './outbox.js';

export class Thread {
  /** side: 'user' (the widget) or 'admin' (the panel); myId: the signed-in account; outbox: my unsent messages. */
  constructor(side, myId, outbox = new Outbox()) {
    this.side = side;
    this.myId = myId;
    this.byId = new Map();
    this.outbox = outbox;
    this.keyToId = new Map();
    this.firstId = null;
  }

  /** idempotency key -> local message not yet confirmed */
  get pending() { return this.outbox.items; }

  /** Written by our side of the conversation (for support: any admin). */
  ours(message) {
    return message.sender_role === this.side || message.sender_role === 'local';
  }

  mine(message) {
    return message.user_id != null && message.user_id === this.myId && message.sender_role !== 'system';
  }

  /** Store a server message; true when it was not known before (duplicates are dropped). */
  add(message) {
    if (!message || typeof message.id !== 'number') return false;
    const known = this.byId.get(message.id);
    if (known) {
      if (message.read_at && !known.read_at) known.read_at = message.read_at;
      if (!message.body_truncated && known.body_truncated) Object.assign(known, message, { body_truncated: false });
      return false;
    }
    const stored = { ...message };
    this.byId.set(message.id, stored);
    this.firstId = this.firstId === null ? message.id : Math.min(this.firstId, message.id);
    if (this.mine(message) && !stored.localKey) this.adoptPending(stored);
    return true;
  }

  /** My own message arrived (e.g. caught up) before the send answered: it replaces the local one. */
  adoptPending(stored) {
    for (const [key, local] of this.pending) {
      const sameFile = Boolean(local.attachment) === Boolean(stored.attachment);
      if (local.status === 'sending' && local.body === stored.body && sameFile) {
        this.outbox.remove(key);
        this.keyToId.set(key, stored.id);
        stored.localKey = key;
        return;
      }
    }
  }

  /** The server stored my message: it keeps the local one's place (``localKey``) in the view. */
  confirm(key, message) {
    this.outbox.remove(key);
    this.keyToId.set(key, message.id);
    return this.add({ ...message, localKey: key });
  }

  /** The other side read my messages: exactly ``ids`` when the receipt lists them, else up to ``upToId``. */
  markReadByOther(upToId, readAt, ids = null) {
    const marked = Array.isArray(ids) ? new Set(ids) : null;
    let changed = false;
    for (const message of this.byId.values()) {
      const read = marked ? marked.has(message.id) : message.id <= upToId;
      if (read && this.ours(message) && !message.read_at) {
        message.read_at = readAt;
        changed = true;
      }
    }
    return changed;
  }

  /** Confirmed messages oldest first, then what I am still sending. */
  list() {
    const confirmed = [...this.byId.values()].sort((a, b) => a.id - b.id);
    return confirmed.concat([...this.pending.values()]);
  }

  /** The newest message our side wrote (where "Sent" / "Seen" is shown); support's private notes are never read by the other side. */
  lastOursId() {
    let last = null;
    for (const message of this.byId.values()) {
      if (this.ours(message) && message.kind !== 'note' && (last === null || message.id > last)) last = message.id;
    }
    return last;
  }

  get size() { return this.byId.size + this.pending.size; }
}
