// A short chime for new messages, synthesised with Web Audio (no sound file to fetch); mutable.

export class Chime {
  constructor(storageKey) {
    this.storageKey = storageKey;
    this.muted = false;
    try { this.muted = localStorage.getItem(storageKey) === '1'; } catch { this.muted = false; }
    this.context = null;
    this.listeners = new Set();
  }

  setMuted(muted) {
    this.muted = Boolean(muted);
    try { localStorage.setItem(this.storageKey, this.muted ? '1' : '0'); } catch { /* private mode */ }
  }

  onPlay(listener) { this.listeners.add(listener); }

  /** Plays unless muted; returns whether it played. */
  play() {
    if (this.muted) return false;
    try {
      const Context = window.AudioContext || window.webkitAudioContext;
      if (Context) {
        this.context = this.context || new Context();
        if (this.context.state === 'suspended') this.context.resume().catch(() => {});
        const now = this.context.currentTime;
        const gain = this.context.createGain();
        gain.connect(this.context.destination);
        gain.gain.setValueAtTime(0.0001, now);
        gain.gain.exponentialRampToValueAtTime(0.18, now + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, now + 0.45);
        [880, 1320].forEach((frequency, i) => {
          const osc = this.context.createOscillator();
          osc.type = 'sine';
          osc.frequency.setValueAtTime(frequency, now + i * 0.12);
          osc.connect(gain);
          osc.start(now + i * 0.12);
          osc.stop(now + 0.45);
        });
      }
    } catch { /* audio blocked: the visual cues remain */ }
    for (const listener of this.listeners) listener();
    return true;
  }
}
