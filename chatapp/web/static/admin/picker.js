// A list of choices that opens above the message box while one types (canned replies after "/",
// agents after "@"): Up and Down move, Enter or Tab insert the chosen one, Escape closes, a click
// inserts too. The focus stays in the message box (aria-activedescendant names the choice).
import { el } from '../shared/dom.js';

export class ComposerPicker {
  /** composer: the room's Composer; name: the list's id and class stem ('canned' -> #canned-list). */
  constructor({ composer, name, label }) {
    this.composer = composer;
    this.input = composer.input;
    this.name = name;
    this.shown = [];
    this.active = -1;
    this.list = el('ul', { id: `${name}-list`, class: `${name}-list`, role: 'listbox', 'aria-label': label, hidden: true });
    this.empty = el('p', { class: `${name}-empty`, role: 'status', hidden: true });
    composer.form.prepend(this.list, this.empty);
    this.input.setAttribute('aria-autocomplete', 'list');
    this.input.addEventListener('input', () => this.update());
    this.input.addEventListener('blur', () => this.close());
    // Capture on the form: these keys are the list's while it is open, before the composer sends on Enter.
    composer.form.addEventListener('keydown', (event) => this.key(event), true);
  }

  isOpen() { return !this.list.hidden || !this.empty.hidden; }

  /** Show ``items`` (rendered by ``option(item)``, which returns the option's children), choosing ``chosen``. */
  show(items, option, chosen = 0) {
    this.shown = items;
    this.empty.hidden = true;
    this.list.replaceChildren(...items.map((item, i) => el('li', {
      id: `${this.name}-option-${i}`, role: 'option', class: `${this.name}-option`, 'aria-selected': 'false',
      onmousedown: (event) => { event.preventDefault(); this.insert(i); }, // keeps the focus in the message box
    }, ...option(item))));
    this.list.hidden = false;
    this.input.setAttribute('aria-controls', this.list.id);
    this.select(chosen);
  }

  showEmpty(text) {
    this.list.hidden = true;
    this.shown = [];
    this.empty.textContent = text;
    this.empty.hidden = false;
  }

  select(index) {
    const count = this.shown.length;
    this.active = ((index % count) + count) % count;
    [...this.list.children].forEach((item, i) => item.setAttribute('aria-selected', String(i === this.active)));
    const current = this.list.children[this.active];
    this.input.setAttribute('aria-activedescendant', current.id);
    current.scrollIntoView({ block: 'nearest' });
  }

  key(event) {
    if (!this.isOpen() || event.isComposing) return;
    const handled = { ArrowDown: () => this.select(this.active + 1), ArrowUp: () => this.select(this.active - 1),
      Enter: () => this.insert(this.active), Tab: () => this.insert(this.active), Escape: () => this.dismiss() }[event.key];
    if (!handled || (event.shiftKey && event.key === 'Enter')) return;
    if (!this.shown.length && event.key !== 'Escape') return; // nothing to insert: Enter sends what was typed
    event.preventDefault();
    event.stopPropagation();
    handled();
  }

  /** Escape. */
  dismiss() { this.close(); }

  close() {
    this.list.hidden = true;
    this.empty.hidden = true;
    this.shown = [];
    this.active = -1;
    this.input.removeAttribute('aria-activedescendant');
  }

  // update() shows the list for the text as it is now; insert(index) puts the chosen item in.
  update() { throw new Error('ComposerPicker.update'); }

  insert() { throw new Error('ComposerPicker.insert'); }
}
