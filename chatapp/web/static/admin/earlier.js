// The contact's earlier conversations in the details pane, newest first (the room's own answer
// brings them): when, status and last words of each; a click opens it in place, where the
// panel's own history (Back) returns to this one.
import { el } from '../shared/dom.js';
import { intlLocale, t } from '../shared/i18n.js';

const when = (iso) => new Date(iso).toLocaleString(intlLocale(), { dateStyle: 'medium', timeStyle: 'short' });

export class EarlierConversations {
  constructor({ open }) {
    this.open = open;
    this.heading = el('h3', { id: 'earlier-title', text: t('room.earlier.title') });
    this.list = el('ul', { id: 'earlier-list', class: 'earlier', 'aria-labelledby': 'earlier-title' });
    this.empty = el('p', { class: 'muted', id: 'earlier-none', text: t('room.earlier.none') });
    this.node = el('section', { class: 'earlier-section' }, this.heading, this.list, this.empty);
  }

  show(rooms) {
    this.empty.hidden = rooms.length > 0;
    this.list.replaceChildren(...rooms.map((room) => {
      const link = el('a', { href: `/admin/chat/${room.id}` },
        el('span', { class: 'earlier-head' },
          el('time', { datetime: room.created_at, text: when(room.created_at) }), ' · ',
          el('span', { class: `chip status-${room.status}`, text: t(`status.${room.status}`) }), ' ',
          el('span', { class: 'muted', text: `#${room.id}` })),
        room.last_message_preview
          ? el('span', { class: 'earlier-preview', 'data-user-content': '', text: room.last_message_preview })
          : null);
      link.addEventListener('click', (event) => {
        if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
        event.preventDefault();
        this.open(room.id);
      });
      return el('li', { dataset: { id: room.id } }, link);
    }));
  }
}
