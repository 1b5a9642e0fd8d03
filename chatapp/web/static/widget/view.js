// The widget's DOM, inside a shadow root: launcher, panel, banner, messages, composer.
import { el } from '../shared/dom.js';
import { icon } from '../shared/icons.js';
import { Composer } from '../shared/composer.js';
import { ThreadView, messageLog } from '../shared/thread-view.js';
import { typingText } from '../shared/typing.js';
import { t } from '../shared/i18n.js';
import { PANEL_CSS } from './styles.js';
import { adoptStyles, appearance, applyAppearance, launcherButton } from './appearance.js';

// Catalogue keys of the notice under a finished chat and of the connection banners (the other
// statuses, connecting, connected and disabled, show none).
const NOTES = { resolved: 'widget.note.resolved', closed: 'widget.note.closed' };
const BANNERS = {
  reconnecting: ['widget.banner.reconnecting', 'reconnecting'],
  offline: ['widget.banner.offline', 'offline'],
};

export class WidgetView {
  /** actions: {toggle, close, send, input, mute, older, endChat, retry, discard, startOver, forget, leave};
   * launcherCss: the loader's LAUNCHER_CSS. */
  constructor({ options, api, actions, launcherCss }) {
    this.css = launcherCss + PANEL_CSS;
    this.actions = actions;
    // A custom element name: host-page rules for div, section, button... never match the host.
    this.host = el('chatapp-widget', { id: 'chatapp-widget' });
    this.shadow = this.host.attachShadow({ mode: 'open' });
    this.applyStyles();

    this.badge = el('span', { class: 'badge', hidden: true, 'aria-hidden': 'true' });
    const look = appearance(options);
    this.launcher = launcherButton(look, t('widget.launcher.open'), () => actions.toggle());
    this.launcher.append(this.badge);

    this.subtitle = el('p', { class: 'subtitle', text: options.subtitle });
    // The status line (online / away) takes the default subtitle's place; under a host's own, a line of its own.
    this.ownSubtitle = options.subtitle !== t('widget.subtitle');
    this.defaultSubtitle = options.subtitle;
    this.statusLine = el('p', { class: 'status-line', hidden: true });
    // Away: a button to the offline form (its label comes with the status, the form is a chunk of its own).
    this.offer = el('button', { type: 'button', class: 'offer', hidden: true, onclick: () => actions.leave() });
    this.muteButton = el('button', { type: 'button', class: 'mute', 'aria-pressed': 'false', onclick: () => actions.mute() });
    this.closeButton = el('button', { type: 'button', class: 'close', 'aria-label': t('widget.close'), onclick: () => actions.close() }, icon('close'));
    this.banner = el('p', { class: 'banner', role: 'status', hidden: true });
    this.older = el('button', { type: 'button', class: 'older', hidden: true, onclick: () => actions.older(), text: t('thread.older') });
    this.list = el('ol', { class: 'messages' });
    this.scroller = el('div', { class: 'scroller', tabindex: 0 },
      this.older,
      options.greeting ? el('p', { class: 'greeting', text: options.greeting }) : null,
      messageLog(this.list));
    this.typing = el('div', { class: 'typing', role: 'status', 'aria-live': 'polite' });
    this.noteText = el('span', { class: 'note-text' });
    this.startOverButton = el('button', { type: 'button', class: 'link-button start-over', hidden: true, onclick: () => actions.startOver(), text: t('widget.startOver') });
    this.note = el('div', { class: 'note', role: 'status', hidden: true }, this.noteText, ' ', this.startOverButton);
    this.composer = new Composer({
      idPrefix: 'chatapp', placeholder: t('widget.placeholder'),
      onSend: (text, file) => actions.send(text, file),
      onInput: (text) => actions.input(text),
    });
    this.endButton = el('button', { type: 'button', class: 'end', hidden: true, onclick: () => actions.endChat(), text: t('widget.endChat') });
    this.forgetButton = el('button', { type: 'button', hidden: true, onclick: actions.forget, text: t('widget.forget') });
    this.panel = el('section', {
      id: 'chatapp-panel', class: 'panel', role: 'dialog', 'aria-modal': 'false', 'aria-labelledby': 'chatapp-title', hidden: true,
    },
    el('header', { class: 'head' },
      el('div', { class: 'titles' }, el('h2', { id: 'chatapp-title', text: options.title }), this.subtitle, this.statusLine, this.offer),
      this.muteButton, this.closeButton),
    this.banner, this.scroller, this.typing, this.note, this.composer.form,
    el('div', { class: 'foot' }, el('span', { text: t('widget.footer') }), this.forgetButton, this.endButton));
    this.panel.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') { event.stopPropagation(); actions.close(); }
    });
    this.root = el('div', { class: 'root' }, this.panel, this.launcher);
    applyAppearance(this.root, look);
    this.shadow.append(this.root);
    this.threadView = new ThreadView({
      list: this.list, scroller: this.scroller, api,
      labels: { ours: () => t('thread.you'), theirs: (m) => m.sender_name || t('thread.support') },
      onRetry: (key) => actions.retry(key), onDiscard: (key) => actions.discard(key),
    });
    this.setMuted(false);
    this.setVisible(false);
  }

  applyStyles() { adoptStyles(this.shadow, this.css); }

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
    let label = t(open ? 'widget.launcher.close' : 'widget.launcher.open');
    if (this.unread > 0) label = t('widget.launcher.withUnread', { label, count: this.unread });
    this.launcher.setAttribute('aria-label', label);
  }

  setMuted(muted) {
    this.muteButton.replaceChildren(icon(muted ? 'bellOff' : 'bell'));
    this.muteButton.setAttribute('aria-pressed', String(muted));
    this.muteButton.setAttribute('aria-label', t(muted ? 'widget.sound.unmute' : 'widget.sound.mute'));
    this.muteButton.title = t(muted ? 'widget.sound.off' : 'widget.sound.on');
  }

  setBanner(status) {
    const banner = BANNERS[status];
    this.banner.hidden = !banner;
    this.banner.className = `banner ${banner ? banner[1] : ''}`;
    this.banner.textContent = banner ? t(banner[0]) : '';
  }

  setTyping(names) { this.typing.textContent = typingText(names); }

  /** doc: GET /api/chat/status (or /api/config's status): "online", or "away" with the offline form's button. */
  setStatus(doc) {
    this.status = doc;
    this.offer.textContent = doc.offer;
    this.offer.hidden = !doc.offer;
    this.setRoom(this.room, this.defaultSubtitle);
  }

  setRoom(room, defaultSubtitle) {
    this.room = room;
    this.defaultSubtitle = defaultSubtitle;
    const status = this.status ? this.status.text : '';
    let subtitle = status && !this.ownSubtitle ? status : defaultSubtitle;
    if (room && room.assigned_admin && room.assigned_admin.name) subtitle = t('widget.helping', { name: room.assigned_admin.name });
    const note = room && NOTES[room.status] ? t(NOTES[room.status]) : '';
    this.subtitle.textContent = subtitle;
    this.statusLine.textContent = this.ownSubtitle ? status : '';
    this.statusLine.hidden = !this.statusLine.textContent;
    this.noteText.textContent = note;
    this.note.hidden = !note;
    this.startOverButton.hidden = !room || room.status !== 'closed';
    this.endButton.hidden = !room || room.status === 'closed';
    this.forgetButton.hidden = !room;
  }

  setOlder(hasMore) { this.older.hidden = !hasMore; }
}
