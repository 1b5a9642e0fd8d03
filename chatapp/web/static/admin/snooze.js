// The conversation's Snooze menu (chatapp/snooze.py): in 1 hour, tomorrow 09:00, next week on
// Monday 09:00, until the visitor's next reply, or a date and time picked. The presets are
// computed in the agent's own time zone, here; the server is sent the absolute time (UTC), or
// null for "until the next reply". Unsnooze wakes a snoozed chat now.
import { el, clockTime } from '../shared/dom.js';
import { t } from '../shared/i18n.js';
import { showToast } from './notify.js';

const SNOOZABLE = ['open', 'assigned'];
const WOKE = ['snooze.line.wokeByTime', 'snooze.line.wokeByVisitor']; // by itself, not by an agent

/** The presets' wake times from ``now``, in this browser's time zone (null: when the visitor writes). */
export function presets(now = new Date()) {
  const day = (ahead) => new Date(now.getFullYear(), now.getMonth(), now.getDate() + ahead, 9, 0, 0, 0);
  const toMonday = (8 - now.getDay()) % 7 || 7;
  return [
    { name: 'hour', until: new Date(now.getTime() + 3600 * 1000) },
    { name: 'tomorrow', until: day(1) },
    { name: 'nextWeek', until: day(toMonday) },
    { name: 'nextReply', until: null },
  ];
}

/** "Snoozed until 09:00", "Snoozed until the next reply"; '' for a chat that is not snoozed. */
export function snoozeText(room) {
  if (!room || !room.snooze) return '';
  return room.snooze.until ? t('snooze.until', { time: clockTime(room.snooze.until) }) : t('snooze.untilReply');
}

/**
 * A snoozed chat of mine came back by itself (its line on the admin feed): a toast that opens it,
 * unless it is the conversation on screen. ``openId()``: the id of the one on screen, if any.
 */
export function watchWakes({ realtime, me, go, openId }) {
  if (!realtime) return;
  realtime.private('admin.chat').listen('.chat.message', ({ room, message }) => {
    const code = message && message.system && message.system.code;
    if (!WOKE.includes(code) || !room || !room.assigned_admin || room.assigned_admin.id !== me.id) return;
    if (openId() === room.id) return;
    showToast({
      toasts: document.getElementById('toasts'), kind: 'snooze', roomId: room.id, go,
      title: t('snooze.back'), body: (room.user && room.user.name) || t('panel.aVisitor'),
    });
  });
}

/** A datetime-local input's value for ``date`` (its wall-clock time here). */
function localValue(date) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export class SnoozeMenu {
  /** snooze(until, control): until a Date or null; unsnooze(control). Both report their own errors. */
  constructor({ snooze, unsnooze }) {
    this.snooze = snooze;
    this.button = el('button', {
      type: 'button', dataset: { action: 'snooze' }, 'aria-expanded': 'false', 'aria-controls': 'snooze-menu',
      text: t('room.action.snooze'), onclick: () => this.toggle(),
    });
    this.wake = el('button', { type: 'button', dataset: { action: 'unsnooze' }, hidden: true, text: t('room.action.unsnooze'),
      onclick: () => unsnooze(this.wake) });
    this.when = el('input', { type: 'datetime-local', id: 'snooze-when', required: true });
    this.custom = el('form', { class: 'snooze-custom', hidden: true, onsubmit: (event) => this.pickTime(event) },
      el('label', { for: 'snooze-when', text: t('snooze.customLabel') }), this.when,
      el('button', { type: 'submit', class: 'primary', text: t('snooze.apply') }));
    this.menu = el('div', { id: 'snooze-menu', class: 'snooze-menu', role: 'group', 'aria-label': t('snooze.menu'), hidden: true },
      ...['hour', 'tomorrow', 'nextWeek', 'nextReply'].map((name) => el('button', {
        type: 'button', class: 'ghost', dataset: { snooze: name }, text: t(`snooze.${name}`),
        onclick: () => this.choose(presets().find((p) => p.name === name).until),
      })),
      el('button', { type: 'button', class: 'ghost', dataset: { snooze: 'custom' }, text: t('snooze.custom'), onclick: () => this.showCustom() }),
      this.custom);
    this.node = el('span', { class: 'snooze' }, this.button, this.menu, this.wake);
    this.node.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && !this.menu.hidden) { event.stopPropagation(); this.close(); this.button.focus(); }
    });
    document.addEventListener('click', (event) => { if (!this.node.contains(event.target)) this.close(); });
  }

  /** What the chat allows: Snooze while it is open or assigned, Unsnooze while it is snoozed. A live
   * update of the chat leaves an open menu open (the agent is choosing). */
  show(room) {
    this.button.hidden = !SNOOZABLE.includes(room.status);
    this.wake.hidden = !room.snooze;
    if (this.button.hidden) this.close();
  }

  toggle() {
    if (!this.menu.hidden) { this.close(); return; }
    this.menu.hidden = false;
    this.button.setAttribute('aria-expanded', 'true');
    this.menu.querySelector('button').focus();
  }

  close() {
    this.menu.hidden = true;
    this.custom.hidden = true;
    this.button.setAttribute('aria-expanded', 'false');
  }

  showCustom() {
    this.custom.hidden = false;
    this.when.min = localValue(new Date());
    if (!this.when.value) this.when.value = localValue(presets()[1].until);
    this.when.focus();
  }

  pickTime(event) {
    event.preventDefault();
    const until = new Date(this.when.value); // a datetime-local value is read as this browser's wall-clock time
    if (Number.isNaN(until.getTime())) return;
    this.choose(until);
  }

  choose(until) {
    this.close();
    this.snooze(until, this.button);
  }
}
