// The message box both sides use: Enter sends, Shift+Enter breaks the line, one file attached
// with a preview, the file's size checked before uploading.
import { el, fileSize } from './dom.js';
import { icon } from './icons.js';
import { t } from './i18n.js';

export class Composer {
  /** onSend(text, file) -> falsy to keep the draft; onInput(text) for typing indicators. */
  constructor({ idPrefix, placeholder, onSend, onInput, maxLength = 5000, maxBytes = 10 * 1024 * 1024 }) {
    this.onSend = onSend;
    this.onInput = onInput;
    this.maxBytes = maxBytes;
    this.placeholder = placeholder;
    this.file = null;
    this.previewUrl = null;
    this.input = el('textarea', {
      id: `${idPrefix}-input`, class: 'input', rows: 1, maxlength: maxLength, placeholder,
      'aria-describedby': `${idPrefix}-hint`, autocomplete: 'off',
    });
    this.fileInput = el('input', { id: `${idPrefix}-file`, type: 'file', class: 'sr-only' });
    this.chip = el('div', { class: 'file-chip', hidden: true });
    this.error = el('p', { class: 'composer-error', role: 'alert' });
    this.sendButton = el('button', { type: 'submit', class: 'send', 'aria-label': t('composer.send'), title: t('composer.sendTitle') }, icon('send'));
    this.form = el('form', { class: 'composer', 'aria-label': t('composer.form') },
      this.chip,
      el('div', { class: 'composer-row' },
        el('label', { class: 'sr-only', for: `${idPrefix}-input`, text: t('composer.label') }),
        this.input,
        el('label', { class: 'attach', for: `${idPrefix}-file`, title: t('composer.attach') },
          icon('clip'), el('span', { class: 'sr-only', text: t('composer.attach') })),
        this.fileInput,
        this.sendButton),
      el('p', { id: `${idPrefix}-hint`, class: 'sr-only', text: t('composer.hint') }),
      this.error);
    this.form.addEventListener('submit', (event) => { event.preventDefault(); this.submit(); });
    this.input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.submit();
      }
    });
    this.input.addEventListener('input', () => {
      this.grow();
      this.error.textContent = '';
      this.onInput(this.input.value);
    });
    this.fileInput.addEventListener('change', () => this.pick(this.fileInput.files && this.fileInput.files[0]));
    this.input.addEventListener('paste', (event) => {
      const file = event.clipboardData && [...event.clipboardData.files][0];
      if (file) { event.preventDefault(); this.pick(file); }
    });
  }

  grow() {
    this.input.style.height = 'auto';
    this.input.style.height = `${Math.min(this.input.scrollHeight, 140)}px`;
  }

  pick(file) {
    this.fileInput.value = '';
    if (!file) return;
    if (file.size > this.maxBytes) {
      this.error.textContent = t('composer.tooLarge', { name: file.name, size: fileSize(file.size), limit: fileSize(this.maxBytes) });
      return;
    }
    this.clearFile();
    this.file = file;
    const image = /^image\//.test(file.type);
    if (image) this.previewUrl = URL.createObjectURL(file);
    this.chip.replaceChildren(
      image ? el('img', { src: this.previewUrl, alt: '' }) : null,
      el('span', { class: 'chip-name', text: `${file.name} (${fileSize(file.size)})`, 'data-user-content': '' }),
      el('button', { type: 'button', class: 'chip-remove', 'aria-label': t('composer.remove', { name: file.name }), onclick: () => { this.clearFile(); this.input.focus(); } }, '×'),
    );
    this.chip.hidden = false;
    this.input.focus();
  }

  clearFile() {
    if (this.previewUrl) URL.revokeObjectURL(this.previewUrl);
    this.previewUrl = null;
    this.file = null;
    this.chip.hidden = true;
    this.chip.replaceChildren();
  }

  submit() {
    const text = this.input.value;
    if (!text.trim() && !this.file) return;
    const accepted = this.onSend(text, this.file);
    if (accepted === false) return;
    this.input.value = '';
    this.clearFile();
    this.grow();
    this.input.focus();
  }

  setDisabled(disabled, reason = '') {
    this.input.disabled = disabled;
    this.fileInput.disabled = disabled;
    this.sendButton.disabled = disabled;
    this.input.placeholder = disabled ? reason : this.placeholder;
  }

  focus() { this.input.focus(); }
}
