// Messages written but not yet stored by the server, in the order they were written. The
// widget keeps them in localStorage, so neither a failed session start, a failed send nor a
// reload loses typed text; each keeps its idempotency key, so a retry never stores it twice.

import { t } from './i18n.js';

export class Outbox {
  /** storageKey: where the queue lives in localStorage, or null to keep it in memory only. */
  constructor(storageKey = null) {
    this.storageKey = storageKey;
    this.items = new Map(); // idempotency key -> local message (what the thread shows)
    this.files = new Map(); // idempotency key -> File still to upload (never stored)
    this.load();
  }

  /** A new local message, shown as "Sending…" until the server stores it. */
  add(key, body, file, myId) {
    const attachment = file ? {
      local: true, name: file.name, size: file.size, content_type: file.type,
      previewUrl: /^image\//.test(file.type) ? URL.createObjectURL(file) : null,
    } : null;
    const local = {
      key, body, attachment, status: 'sending', error: null, user_id: myId, sender_role: 'local',
      created_at: new Date().toISOString(), attachmentId: null, roomId: null,
    };
    this.items.set(key, local);
    if (file) this.files.set(key, file);
    this.save();
    return local;
  }

  get(key) { return this.items.get(key) || null; }

  /** Keys still to send, oldest first. */
  queued() { return [...this.items.values()].filter((m) => m.status === 'sending').map((m) => m.key); }

  update(key, changes) {
    const local = this.items.get(key);
    if (!local) return null;
    Object.assign(local, changes);
    this.save();
    return local;
  }

  remove(key) {
    this.items.delete(key);
    this.files.delete(key);
    this.save();
  }

  /** Every queued message failed at once (e.g. the chat session could not be started). */
  failQueued(reason) {
    for (const key of this.queued()) this.update(key, { status: 'failed', error: reason });
  }

  clear() {
    this.items.clear();
    this.files.clear();
    if (this.storageKey) {
      try { localStorage.removeItem(this.storageKey); } catch { /* storage off */ }
    }
  }

  save() {
    if (!this.storageKey) return;
    const kept = [...this.items.values()].map((m) => ({
      key: m.key, body: m.body, status: m.status, error: m.error, created_at: m.created_at,
      attachmentId: m.attachmentId, roomId: m.roomId,
      attachment: m.attachment ? { local: true, name: m.attachment.name, size: m.attachment.size, content_type: m.attachment.content_type } : null,
    }));
    try {
      if (kept.length) localStorage.setItem(this.storageKey, JSON.stringify(kept));
      else localStorage.removeItem(this.storageKey);
    } catch { /* storage full or off: the queue lives in this page only */ }
  }

  load() {
    if (!this.storageKey) return;
    let kept = [];
    try { kept = JSON.parse(localStorage.getItem(this.storageKey) || '[]'); } catch { kept = []; }
    if (!Array.isArray(kept)) return;
    for (const m of kept) {
      if (!m || typeof m.key !== 'string') continue;
      const local = {
        key: m.key, body: String(m.body || ''), attachment: m.attachment || null, status: m.status === 'failed' ? 'failed' : 'sending',
        error: m.error || null, user_id: null, sender_role: 'local', created_at: m.created_at || new Date().toISOString(),
        attachmentId: m.attachmentId ?? null, roomId: m.roomId ?? null,
      };
      if (local.attachment && local.attachmentId === null) {
        // A file not uploaded before the reload is gone (files are not kept in storage).
        if (!local.body) continue;
        Object.assign(local, { attachment: null, status: 'failed', error: t('thread.fileLost') });
      }
      this.items.set(local.key, local);
    }
  }
}
