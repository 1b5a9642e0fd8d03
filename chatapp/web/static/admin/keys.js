// Keyboard shortcuts for the panel, the keys Intercom's and Gmail's users already know: j and k
// open the next and previous conversation of the list, r goes to the reply box, a assigns the
// open chat to me, e resolves it, z opens its Snooze menu, / searches, Esc leaves a field and
// then the conversation, and ? shows the sheet of keys. A key typed into a field is text, not a shortcut; with Ctrl, Alt or
// Meta it stays the browser's; an open dialog keeps its own keys.
import { el } from '../shared/dom.js';
import { t } from '../shared/i18n.js';

export const SHORTCUTS = [
  { key: 'j', label: 'keys.next' },
  { key: 'k', label: 'keys.previous' },
  { key: 'r', label: 'keys.reply' },
  { key: 'a', label: 'keys.assign' },
  { key: 'e', label: 'keys.resolve' },
  { key: 'z', label: 'keys.snooze' },
  { key: '/', label: 'keys.search' },
  { key: 'Escape', shown: 'Esc', label: 'keys.back' },
  { key: '?', label: 'keys.help' },
];

function inField(target) {
  return target instanceof HTMLElement
    && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName));
}

export class Shortcuts {
  /** ``go(id)`` opens a conversation (null: the inbox); ``activeId()`` is the one open now. */
  constructor({ go, activeId }) {
    this.go = go;
    this.activeId = activeId;
    this.actions = {
      j: () => this.step(1),
      k: () => this.step(-1),
      r: () => this.focus('#room:not([hidden]) #reply-input'),
      a: () => this.press('assign'),
      e: () => this.press('resolve'),
      z: () => this.press('snooze'),
      '/': () => this.focus('#search'),
      Escape: () => this.activeId() && this.go(null),
      '?': () => this.help(),
    };
  }

  start() {
    document.addEventListener('keydown', (event) => this.key(event));
  }

  key(event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented || event.isComposing) return;
    if (document.querySelector('dialog[open]')) return;
    if (inField(event.target)) {
      if (event.key === 'Escape') event.target.blur(); // back to the keys; a second Esc leaves the chat
      return;
    }
    const action = this.actions[event.key];
    if (!action) return;
    event.preventDefault();
    action();
  }

  /** The next (1) or previous (-1) conversation of the list as it is shown; the first when none is open. */
  step(by) {
    const items = [...document.querySelectorAll('#rooms .room-item')];
    if (items.length === 0) return;
    const at = items.findIndex((item) => Number(item.dataset.id) === this.activeId());
    const next = items[at === -1 ? 0 : Math.min(items.length - 1, Math.max(0, at + by))];
    this.go(Number(next.dataset.id));
    next.querySelector('a').focus();
  }

  focus(selector) {
    const target = document.querySelector(selector);
    if (target) target.focus();
  }

  /** What the conversation's own button does, only when it is offered for this chat. */
  press(action) {
    const button = document.querySelector(`#room:not([hidden]) .actions button[data-action="${action}"]`);
    if (button && !button.hidden && !button.disabled) button.click();
  }

  help() {
    if (!this.sheet) {
      this.sheet = el('dialog', { id: 'keys-dialog', class: 'password-dialog keys-dialog', 'aria-labelledby': 'keys-title' },
        el('h2', { id: 'keys-title', text: t('keys.title') }),
        el('dl', { class: 'keys-list' }, ...SHORTCUTS.flatMap(({ key, shown, label }) => [
          el('dt', {}, el('kbd', { text: shown || key })),
          el('dd', { text: t(label) }),
        ])),
        el('div', { class: 'dialog-actions' },
          el('button', { type: 'button', id: 'keys-close', class: 'primary', text: t('team.close'), onclick: () => this.sheet.close() })));
      document.body.append(this.sheet);
    }
    this.sheet.showModal();
  }
}
