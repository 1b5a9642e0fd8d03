// Keeping the inbox whole when an event of the admin feed is lost on the way.
//
// Every durable admin-feed event carries ``feed_seq``, one more than the one before it
// (the server's outbox numbers them as they leave). A skipped number means this page
// missed an event: the inbox reloads its list. A number seen before is a repeat (the
// outbox delivers at least once) and is ignored. Besides, the inbox reloads when the
// tab becomes visible again and every minute while it is visible.
const RESYNC_EVERY_MS = 60000;

export class FeedSequence {
  /** current(): a promise of the feed's last number now; onGap(): called when an event was skipped. */
  constructor(current, onGap) {
    this.last = null;
    this.current = current;
    this.onGap = onGap;
  }

  /** Start counting from the server's number; call it before loading what the feed keeps current. */
  async sync() {
    this.last = null;
    try {
      const seq = await this.current();
      if (this.last === null && Number.isInteger(seq)) this.last = seq;
    } catch { /* unknown: the next event sets the start */ }
  }

  /** True when ``event`` is new and should be shown; false for a repeat. */
  accept(event) {
    const seq = event && Number.isInteger(event.feed_seq) ? event.feed_seq : null;
    if (seq === null) return true; // a hint (statistics) carries no number
    if (this.last !== null && seq <= this.last) return false;
    const skipped = this.last !== null && seq > this.last + 1;
    this.last = seq;
    if (skipped) this.onGap();
    return true;
  }
}

/** Call ``refresh`` when the page becomes visible again and on a slow timer while it is visible. */
export function keepFresh(refresh) {
  const whenVisible = () => { if (document.visibilityState === 'visible') refresh(); };
  document.addEventListener('visibilitychange', whenVisible);
  return setInterval(whenVisible, RESYNC_EVERY_MS);
}
