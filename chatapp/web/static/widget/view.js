// The widget's DOM, inside a shadow root: launcher, panel, banner, messages, composer.
import { el } from '../shared/dom.js';
import { icon } from '../shared/icons.js';
import { Composer } from '../shared/composer.js';
import { ThreadView } from '../shared/thread-view.js';
import { typingText } from '../shared/typing.js';
import { WIDGET_CSS } from './styles.js';

const NOTES = {
  resolved: 'Marked as resolved. Write again if you still need help.',
  closed: 'This conversation was closed.',
};
const START_OVER = 'Start a new conversation';

const BANNERS = {
  connecting: null,
  connected: null,
  reconnecting: ['Reconnecting… your messages are saved and will appear when we are back.', 'reconnecting'],
  offline: ['You are offline. Messages you send are delivered when the connection returns.', 'offline'],
  disabled: null,
};

export class WidgetView {
  /** actions: {toggle, close, send, input, mute, older, endChat, retry, discard, startOver} */
  constructor({ options, api, actions }) {
    this.actions = actions;
    // A custom element name: host-page rules for div, section, button... never match the host.
    this.host = el('chatapp-widget', { id: 'chatapp-widget' });
    this.shadow = this.host.attachShadow({ mode: 'open' });
    this.applyStyles();

    this.badge = el('span', { class: 'badge', hidden: true, 'aria-hidden': 'true' });
    this.launcher = el('button', {
      type: 'button', class: 'launcher', 'aria-expanded': 'false', 'aria-controls': 'chatapp-panel',
      'aria-label': 'Open support chat', onclick: () => actions.toggle(),
    }, icon('chat'), icon('down'), this.badge);

    this.subtitle = el('p', { class: 'subtitle', text: options.subtitle });
    this.muteButton = el('button', { type: 'button', class: 'mute', 'aria-pressed': 'false', onclick: () => actions.mute() });
    this.closeButton = el('button', { type: 'button', class: 'close', 'aria-label': 'Close chat', onclick: () => actions.close() }, icon('close'));
    this.banner = el('p', { class: 'banner', role: 'status', hidden: true });
    this.older = el('button', { type: 'button', class: 'older', hidden: true, onclick: () => actions.older(), text: 'Show earlier messages' });
    this.list = el('ol', { class: 'messages', role: 'log', 'aria-live': 'polite', 'aria-relevant': 'additions', 'aria-label': 'Messages' });
    this.scroller = el('div', { class: 'scroller' },
      this.older,
      options.greeting ? el('p', { class: 'greeting', text: options.greeting }) : null,
      this.list);
    this.typing = el('div', { class: 'typing', role: 'status', 'aria-live': 'polite' });
    this.noteText = el('span', { class: 'note-text' });
    this.startOverButton = el('button', { type: 'button', class: 'link-button start-over', hidden: true, onclick: () => actions.startOver(), text: START_OVER });
    this.note = el('div', { class: 'note', role: 'status', hidden: true }, this.noteText, ' ', this.startOverButton);
    this.composer = new Composer({
      idPrefix: 'chatapp', placeholder: 'Write a message…',
      onSend: (text, file) => actions.send(text, file),
      onInput: (text) => actions.input(text),
    });
    this.endButton = el('button', { type: 'button', class: 'end', hidden: true, onclick: () => actions.endChat(), text: 'End chat' });
    this.panel = el('section', {
      id: 'chatapp-panel', class: 'panel', role: 'dialog', 'aria-modal': 'false', 'aria-labelledby': 'chatapp-title', hidden: true,
    },
    el('header', { class: 'head' },
      el('div', { class: 'titles' }, el('h2', { id: 'chatapp-title', text: options.title }), this.subtitle),
      this.muteButton, this.closeButton),
    this.banner, this.scroller, this.typing, this.note, this.composer.form,
    el('div', { class: 'foot' }, el('span', { text: 'Live chat' }), this.endButton));
    this.panel.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') { event.stopPropagation(); actions.close(); }
    });
    this.root = el('div', { class: `root ${options.position === 'left' ? 'left' : ''}` }, this.panel, this.launcher);
    if (options.color) this.root.style.setProperty('--accent', options.color);
    this.shadow.append(this.root);
    this.threadView = new ThreadView({
      list: this.list, scroller: this.scroller, api,
      labels: { ours: () => 'You', theirs: (m) => m.sender_name || 'Support' },
      onRetry: (key) => actions.retry(key), onDiscard: (key) => actions.discard(key),
    });
    this.setMuted(false);
    this.setVisible(false);
  }

  applyStyles() {
    try {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(WIDGET_CSS);
      this.shadow.adoptedStyleSheets = [sheet];
    } catch {
      this.shadow.append(el('style', { text: WIDGET_CSS }));
    }
  }

  mount() { (document.body || document.documentElement).append(this.host); }

  setVisible(visible) {
    this.host.style.setProperty('display', visible ? 'block' : 'none', 'important');
  }

  setOpen(open) {
    this.panel.hidden = !open;
    this.root.classList.toggle('open', open);
    this.launcher.setAttribute('aria-expanded', String(open));
    this.updateLauncherLabel();
    if (open) {
      this.threadView.scrollToEnd();
      this.composer.focus();
    }
  }

  setUnread(count) {
    this.unread = count;
    this.badge.hidden = count <= 0;
    this.badge.textContent = count > 99 ? '99+' : String(count);
    this.updateLauncherLabel();
  }

  updateLauncherLabel() {
    const open = this.launcher.getAttribute('aria-expanded') === 'true';
    let label = open ? 'Close support chat' : 'Open support chat';
    if (this.unread > 0) label += `, ${this.unread} unread ${this.unread === 1 ? 'message' : 'messages'}`;
    this.launcher.setAttribute('aria-label', label);
  }

  setMuted(muted) {
    this.muteButton.replaceChildren(icon(muted ? 'bellOff' : 'bell'));
    this.muteButton.setAttribute('aria-pressed', String(muted));
    this.muteButton.setAttribute('aria-label', muted ? 'Unmute new message sound' : 'Mute new message sound');
    this.muteButton.title = muted ? 'Sound off' : 'Sound on';
  }

  setBanner(status) {
    const banner = BANNERS[status];
    this.banner.hidden = !banner;
    this.banner.className = `banner ${banner ? banner[1] : ''}`;
    this.banner.textContent = banner ? banner[0] : '';
  }

  setTyping(names) { this.typing.textContent = typingText(names); }

  setRoom(room, defaultSubtitle) {
    let subtitle = defaultSubtitle;
    if (room && room.assigned_admin && room.assigned_admin.name) subtitle = `${room.assigned_admin.name} is helping you`;
    const note = (room && NOTES[room.status]) || '';
    this.subtitle.textContent = subtitle;
    this.noteText.textContent = note;
    this.note.hidden = !note;
    this.startOverButton.hidden = !room || room.status !== 'closed';
    this.endButton.hidden = !room || room.status === 'closed';
  }

  setOlder(hasMore) { this.older.hidden = !hasMore; }
}
