// The contact's own data, from the conversation view: "Export contact" downloads a zip of
// everything of theirs; "Erase contact" deletes it all after a confirmation dialog.
import { el } from '../shared/dom.js';
import { errorText, t } from '../shared/i18n.js';

const MANAGERS = ['owner', 'admin'];

export class ContactActions {
  /** onError(text) shows a failed export; onErased(userId) once the contact is gone.
   *  Exporting and erasing a contact is for the owner and admins (the routes' `manager` rule). */
  constructor({ api, me, onError, onErased }) {
    this.api = api;
    this.allowed = MANAGERS.includes(me.staff_role);
    this.onError = onError;
    this.onErased = onErased;
    this.user = null;
    this.exportButton = el('button', { type: 'button', dataset: { action: 'export-contact' }, text: t('contact.export'), onclick: () => this.download() });
    this.eraseButton = el('button', { type: 'button', class: 'danger', dataset: { action: 'erase-contact' }, text: t('contact.erase'), onclick: () => this.confirm() });
    this.buttons = [this.exportButton, this.eraseButton];
  }

  /** Support admins are staff, not contacts: their chats (tests, demos) get no such actions. */
  show(room) {
    this.user = this.allowed && room.user && room.user.role !== 'admin' ? room.user : null;
    for (const button of this.buttons) button.hidden = !this.user;
  }

  async download() {
    const user = this.user;
    if (!user) return;
    this.exportButton.disabled = true;
    try {
      const blob = await this.api.blob(`/api/admin/contacts/${user.id}/export`);
      const url = URL.createObjectURL(blob);
      const link = el('a', { href: url, download: `contact-${user.id}.zip`, hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
    } catch (error) {
      this.onError(errorText(error));
    } finally {
      this.exportButton.disabled = false;
    }
  }

  dialog() {
    if (this.box) return this.box;
    this.text = el('p', { id: 'erase-text' });
    this.error = el('p', { class: 'form-error', role: 'alert' });
    this.confirmButton = el('button', { type: 'button', id: 'erase-confirm', class: 'danger', text: t('contact.eraseConfirm'), onclick: () => this.erase() });
    this.box = el('dialog', { id: 'erase-dialog', class: 'password-dialog', 'aria-labelledby': 'erase-title', 'aria-describedby': 'erase-text' },
      el('h2', { id: 'erase-title', text: t('contact.eraseTitle') }),
      this.text, this.error,
      el('div', { class: 'dialog-actions' },
        el('button', { type: 'button', id: 'erase-cancel', text: t('contact.cancel'), onclick: () => this.box.close() }),
        this.confirmButton));
    document.body.append(this.box);
    return this.box;
  }

  confirm() {
    const user = this.user;
    if (!user) return;
    const box = this.dialog();
    this.erasing = user;
    this.text.textContent = t('contact.eraseText', { name: user.name || t('inbox.visitor', { id: user.id }) });
    this.error.textContent = '';
    box.showModal();
  }

  async erase() {
    const user = this.erasing;
    if (!user) return;
    this.confirmButton.disabled = true;
    try {
      await this.api.request('DELETE', `/api/admin/contacts/${user.id}`);
      this.box.close();
      this.onErased(user.id);
    } catch (error) {
      if (error.status !== 404) { this.error.textContent = errorText(error); return; }
      this.box.close(); // erased meanwhile (another agent, the visitor themselves)
      this.onErased(user.id);
    } finally {
      this.confirmButton.disabled = false;
    }
  }
}
