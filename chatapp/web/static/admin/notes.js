// Private notes: what support writes for support only, in the conversation's timeline.
//
//   NoteSwitch     "Reply" / "Note" above the message box (two toggle buttons, reachable with Tab)
//   MentionPicker  in a note, "@" opens the team's agents filtered by what follows; Up/Down move,
//                  Enter or Tab inserts "@Name", Escape closes, a click inserts too
//   decorateNote   the note look in the thread: a "Private note" label on a yellow bubble
//   watchNotes     notes arrive on the admin feed (never on the visitor's channel): shown in the
//                  open conversation, and a toast when another agent mentions me
import { el } from '../shared/dom.js';
import { errorText, t } from '../shared/i18n.js';
import { showToast } from './notify.js';
import { ComposerPicker } from './picker.js';

const MENTION_RE = /(^|\s)@([^\s@]{0,40})$/; // "@" and the name typed so far, just before the caret
const MAX_SHOWN = 8;

/** The ids of the agents chosen in the picker whose "@Name" is still in ``text``. */
export function mentionedIds(text, chosen) {
  return [...chosen].filter(([, name]) => text.includes(`@${name}`)).map(([id]) => id);
}

/** Agents whose name, or a word of it, starts with ``query`` (case ignored). */
export function agentsMatching(agents, query) {
  const q = query.toLocaleLowerCase();
  return agents.filter((agent) => {
    const name = agent.name.toLocaleLowerCase();
    return name.startsWith(q) || name.split(/\s+/).some((word) => word.startsWith(q));
  });
}

/** The team's agents (GET /api/admin/admins), loaded once when first needed. */
export class AgentStore {
  constructor(api) {
    this.api = api;
    this.loading = null;
  }

  ready() {
    if (!this.loading) {
      this.loading = this.api.get('/api/admin/admins').then((doc) => doc.data)
        .catch((error) => { this.loading = null; throw error; });
    }
    return this.loading;
  }
}

export class NoteSwitch {
  /** onChange(isNote) after the mode changed. */
  constructor({ onChange }) {
    this.note = false;
    this.onChange = onChange;
    this.buttons = {
      reply: el('button', { type: 'button', class: 'mode-reply', 'aria-pressed': 'true', text: t('notes.reply'), onclick: () => this.set(false) }),
      note: el('button', { type: 'button', class: 'mode-note', 'aria-pressed': 'false', text: t('notes.note'), title: t('notes.noteTitle'), onclick: () => this.set(true) }),
    };
    this.node = el('div', { class: 'compose-mode', role: 'group', 'aria-label': t('notes.mode') }, this.buttons.reply, this.buttons.note);
  }

  set(note) {
    if (this.note === note) return;
    this.note = note;
    this.buttons.reply.setAttribute('aria-pressed', String(!note));
    this.buttons.note.setAttribute('aria-pressed', String(note));
    this.onChange(note);
  }
}

export class MentionPicker extends ComposerPicker {
  /** composer: the room's Composer; enabled(): true while a note is being written; me: who I am (not offered). */
  constructor({ agents, composer, enabled, me }) {
    super({ composer, name: 'mention', label: t('notes.mentionList') });
    this.agents = agents;
    this.enabled = enabled;
    this.me = me;
    this.chosen = new Map(); // id -> name of the agents inserted into this note
  }

  /** The "@query" just before the caret: where its "@" is and what follows it. */
  query() {
    const caret = this.input.selectionStart ?? this.input.value.length;
    const match = MENTION_RE.exec(this.input.value.slice(0, caret));
    return match ? { start: caret - match[2].length - 1, end: caret, text: match[2] } : null;
  }

  async update() {
    const query = this.enabled() ? this.query() : null;
    if (!query) { this.close(); return; }
    let agents;
    try {
      agents = await this.agents.ready();
    } catch (error) {
      this.showEmpty(errorText(error));
      return;
    }
    const now = this.query();
    if (!now || now.text !== query.text) return; // typed on meanwhile: that input event shows its own list
    const shown = agentsMatching(agents.filter((a) => a.id !== this.me.id), query.text).slice(0, MAX_SHOWN);
    if (!shown.length) { this.showEmpty(t('notes.noAgent', { query: query.text })); return; }
    this.show(shown, (agent) => [el('span', { text: agent.name, 'data-user-content': '' }),
      agent.online ? el('span', { class: 'mention-online', text: t('notes.online') }) : null]);
  }

  /** Replace "@query" with "@Name " and remember the agent. */
  insert(index) {
    const agent = this.shown[index];
    const query = this.query();
    if (!agent || !query) return;
    this.close();
    const value = this.input.value;
    const mention = `@${agent.name} `;
    this.input.value = value.slice(0, query.start) + mention + value.slice(query.end);
    this.chosen.set(agent.id, agent.name);
    const caret = query.start + mention.length;
    this.input.focus();
    this.input.setSelectionRange(caret, caret);
    this.input.dispatchEvent(new Event('input', { bubbles: true })); // resizes the box
  }

  reset() {
    this.close();
    this.chosen.clear();
  }
}

/** ThreadView's decorate hook: a note gets its look and a "Private note" label. */
export function decorateNote(node, message) {
  if (message.kind !== 'note') return;
  node.classList.add('note');
  node.querySelector('.bubble').prepend(el('span', { class: 'note-label', text: t('notes.label') }));
}

/** Opens a conversation the way the panel's own links do (the panel routes on popstate). */
function openRoom(roomId) {
  history.pushState({}, '', `/admin/chat/${roomId}${location.search}`);
  window.dispatchEvent(new PopStateEvent('popstate'));
}

/**
 * Notes on the admin feed: onNote(message) for each; a toast when one mentions me (and is not mine).
 * The panel's own feed handler sees the same chat.message events (and ignores notes).
 */
export function watchNotes({ realtime, me, onNote }) {
  if (!realtime) return;
  realtime.private('admin.chat').listen('.chat.message', ({ message }) => {
    if (!message || message.kind !== 'note') return;
    onNote(message);
    if (message.user_id === me.id || !(message.mentions || []).includes(me.id)) return;
    showToast({
      toasts: document.getElementById('toasts'), kind: 'mention', roomId: message.room_id, go: openRoom,
      title: t('notes.mentioned', { name: message.sender_name || t('thread.support') }), body: message.body,
    });
  });
}
