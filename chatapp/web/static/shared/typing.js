// Typing indicators: tell the other side while I type, show when they do.
import { listText, t } from './i18n.js';

/** Sends "typing" at most every few seconds while keys are pressed, "stopped" after a pause. */
export class TypingNotifier {
  constructor(send, { repeatMs = 3000, idleMs = 2500 } = {}) {
    this.send = send;
    this.repeatMs = repeatMs;
    this.idleMs = idleMs;
    this.active = false;
    this.sentAt = 0;
    this.timer = null;
  }

  input(text) {
    if (!text.trim()) { this.stop(); return; }
    const now = Date.now();
    if (!this.active || now - this.sentAt > this.repeatMs) {
      this.active = true;
      this.sentAt = now;
      this.send(true);
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.stop(), this.idleMs);
  }

  stop({ silent = false } = {}) {
    clearTimeout(this.timer);
    if (!this.active) return;
    this.active = false;
    if (!silent) this.send(false);
  }
}

/** Who on the other side is typing; entries expire unless refreshed (a lost "stopped" never sticks). */
export class TypingState {
  constructor(onChange, { ttlMs = 6000 } = {}) {
    this.onChange = onChange;
    this.ttlMs = ttlMs;
    this.people = new Map(); // user_id -> {name, timer}
  }

  update({ user_id: id, name, is_typing: typing }) {
    const known = this.people.get(id);
    if (known) clearTimeout(known.timer);
    if (typing) {
      const timer = setTimeout(() => this.remove(id), this.ttlMs);
      this.people.set(id, { name: name || t('typing.someone'), timer });
    } else {
      this.people.delete(id);
    }
    this.onChange(this.names());
  }

  remove(id) {
    const known = this.people.get(id);
    if (!known) return;
    clearTimeout(known.timer);
    this.people.delete(id);
    this.onChange(this.names());
  }

  clear() {
    for (const { timer } of this.people.values()) clearTimeout(timer);
    this.people.clear();
    this.onChange([]);
  }

  names() { return [...this.people.values()].map((p) => p.name); }
}

export function typingText(names) {
  if (!names.length) return '';
  return t('typing.text', { count: names.length, names: listText(names) });
}
