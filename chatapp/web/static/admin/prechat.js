// The "Pre-chat form" dialog of the top bar, for the owner and admins (agents do not see the
// button; the server refuses them too): on or off, and the fields in the order the widget asks
// them: name, e-mail, and fields of the site's own (text, number, choice, checkbox), each with a
// label in every language of the panel (empty: English's, or for name and e-mail the widget's
// own), required or not. Also the answers' rows of a conversation's details pane.
import { el } from '../shared/dom.js';
import { availableLocales, errorText, t } from '../shared/i18n.js';
import { MANAGERS } from './staff.js';

const ROUTE = '/api/admin/prechat';
const TYPES = ['name', 'email', 'text', 'number', 'select', 'checkbox'];
const BUILT_IN = ['name', 'email'];
const KEY = /^[a-z][a-z0-9_]{0,31}$/;

/** The contact's answers as rows of the details pane (labels and values are what people wrote). */
export function prechatRows(answers) {
  return (answers || []).flatMap((answer) => {
    let text = answer.text;
    if (answer.type === 'checkbox') text = t(answer.value === 'true' ? 'prechatForm.yes' : 'prechatForm.no');
    const value = answer.type === 'checkbox' ? el('span', { text }) : el('span', { text, 'data-user-content': '' });
    return [el('dt', { text: answer.label, 'data-user-content': '' }), el('dd', { dataset: { prechat: answer.key } }, value)];
  });
}

function languages() {
  const list = availableLocales();
  return list && list.length ? list : [{ code: 'en', name: 'English' }];
}

/** One field's row in the dialog: its controls and what they say as the API's field. */
class FieldRow {
  constructor(field, actions) {
    const id = `prechat-field-${FieldRow.next = (FieldRow.next || 0) + 1}`;
    this.options = new Map((field.options || []).map((option) => [option.value, option.label]));
    this.type = el('select', { id: `${id}-type`, class: 'prechat-type', onchange: () => this.showType() },
      ...TYPES.map((type) => el('option', { value: type, text: t(`prechatForm.type.${type}`) })));
    this.type.value = field.type;
    this.key = el('input', { id: `${id}-key`, class: 'prechat-key', autocomplete: 'off', maxlength: 32, value: BUILT_IN.includes(field.type) ? '' : field.key || '' });
    const labels = typeof field.label === 'string' ? { en: field.label } : field.label || {};
    this.labels = languages().map(({ code, name }) => {
      const input = el('input', { id: `${id}-label-${code}`, class: 'prechat-label', autocomplete: 'off', maxlength: 100, value: labels[code] || '', dataset: { lang: code } });
      return { code, input, label: el('label', { for: input.id, text: t('prechatForm.label', { language: name }) }) };
    });
    this.optionsText = el('textarea', { id: `${id}-options`, class: 'prechat-options', rows: 3 });
    this.optionsText.value = (field.options || []).map((option) => option.value).join('\n');
    this.required = el('input', { type: 'checkbox', id: `${id}-required`, class: 'prechat-required' });
    this.required.checked = Boolean(field.required);
    this.legend = el('legend');
    this.keyLine = [el('label', { for: this.key.id, text: t('prechatForm.key') }), this.key];
    this.optionsLine = [el('label', { for: this.optionsText.id, text: t('prechatForm.options') }), this.optionsText];
    this.node = el('fieldset', { class: 'prechat-field' }, this.legend,
      el('label', { for: this.type.id, text: t('prechatForm.type') }), this.type,
      ...this.keyLine,
      ...this.labels.flatMap(({ label, input }) => [label, input]),
      ...this.optionsLine,
      el('label', { class: 'prechat-tick' }, this.required, ` ${t('prechatForm.required')}`),
      el('div', { class: 'hours-actions' },
        el('button', { type: 'button', class: 'ghost', text: t('prechatForm.up'), onclick: () => actions.move(this, -1) }),
        el('button', { type: 'button', class: 'ghost', text: t('prechatForm.down'), onclick: () => actions.move(this, 1) }),
        el('button', { type: 'button', class: 'ghost danger', text: t('prechatForm.remove'), onclick: () => actions.remove(this) })));
    this.showType();
  }

  number(n) {
    this.index = n;
    this.legend.textContent = t('prechatForm.field', { number: n });
  }

  showType() {
    const type = this.type.value;
    for (const node of this.keyLine) node.hidden = BUILT_IN.includes(type);
    for (const node of this.optionsLine) node.hidden = type !== 'select';
    for (const { code, input } of this.labels) input.placeholder = BUILT_IN.includes(type) && code === 'en' ? t(`prechat.${type}`) : '';
  }

  /** The API's field, or the catalogue key of what is wrong with it. */
  value() {
    const type = this.type.value;
    const label = Object.fromEntries(this.labels.map(({ code, input }) => [code, input.value.trim()]).filter(([, text]) => text));
    const field = { type, required: this.required.checked, label: Object.keys(label).length ? label : null };
    if (BUILT_IN.includes(type)) return { field };
    field.key = this.key.value.trim();
    if (!KEY.test(field.key) || BUILT_IN.includes(field.key)) return { problem: 'prechatForm.badKey', focus: this.key };
    if (!field.label) return { problem: 'prechatForm.badLabel', focus: this.labels[0].input };
    if (type === 'select') {
      const values = [...new Set(this.optionsText.value.split('\n').map((line) => line.trim()).filter(Boolean))];
      if (!values.length) return { problem: 'prechatForm.badOptions', focus: this.optionsText };
      field.options = values.map((value) => ({ value, label: this.options.get(value) || value }));
    }
    return { field };
  }
}

export class PrechatDialog {
  constructor({ api, me, after }) {
    this.api = api;
    this.me = me;
    this.after = after;
    this.rows = [];
  }

  start() {
    if (!MANAGERS.includes(this.me.staff_role) || !this.after) return;
    this.button = el('button', { type: 'button', id: 'prechat-button', class: 'ghost', 'aria-haspopup': 'dialog',
      text: t('prechatForm.settings'), onclick: () => this.open() });
    this.after.after(this.button);
  }

  build() {
    if (this.dialog) return;
    this.enabled = el('input', { type: 'checkbox', id: 'prechat-enabled' });
    this.list = el('div', { id: 'prechat-fields', class: 'prechat-fields' });
    this.empty = el('p', { class: 'muted', text: t('prechatForm.empty') });
    this.error = el('p', { id: 'prechat-error', class: 'form-error', role: 'alert' });
    this.saved = el('p', { id: 'prechat-saved', class: 'muted', role: 'status' });
    this.form = el('form', { id: 'prechat-form', class: 'prechat-form', onsubmit: (event) => { event.preventDefault(); this.save(); } },
      el('label', { class: 'prechat-tick' }, this.enabled, ` ${t('prechatForm.enabled')}`),
      el('p', { class: 'muted', text: t('prechatForm.hint') }),
      this.empty, this.list,
      el('button', { type: 'button', id: 'prechat-add', class: 'ghost', text: t('prechatForm.add'), onclick: () => this.add({ type: 'text' }, true) }),
      this.error, this.saved,
      el('div', { class: 'hours-actions' }, el('button', { type: 'submit', id: 'prechat-save', text: t('prechatForm.save') })));
    this.dialog = el('dialog', { id: 'prechat-dialog', class: 'canned-dialog prechat-dialog', 'aria-labelledby': 'prechat-title' },
      el('div', { class: 'canned-head' },
        el('h2', { id: 'prechat-title', text: t('prechatForm.settings') }),
        el('button', { type: 'button', id: 'prechat-close', class: 'ghost', text: t('team.close'), onclick: () => this.dialog.close() })),
      this.form);
    document.body.append(this.dialog);
  }

  async open() {
    this.build();
    this.error.textContent = '';
    this.saved.textContent = '';
    this.dialog.showModal();
    try {
      this.show((await this.api.get(ROUTE)).prechat);
    } catch (error) {
      this.error.textContent = errorText(error);
    }
  }

  show(form) {
    this.enabled.checked = form.enabled;
    this.rows = [];
    const fields = form.fields.length ? form.fields : [{ type: 'name', required: true }, { type: 'email' }];
    for (const field of fields) this.add(field);
    this.render();
  }

  add(field, focus = false) {
    const row = new FieldRow(field, {
      move: (which, step) => {
        const at = this.rows.indexOf(which);
        const to = at + step;
        if (to < 0 || to >= this.rows.length) return;
        this.rows.splice(at, 1);
        this.rows.splice(to, 0, which);
        this.render();
      },
      remove: (which) => { this.rows = this.rows.filter((other) => other !== which); this.render(); },
    });
    this.rows.push(row);
    if (focus) {
      this.render();
      row.type.focus();
    }
  }

  render() {
    this.rows.forEach((row, index) => row.number(index + 1));
    this.list.replaceChildren(...this.rows.map((row) => row.node));
    this.empty.hidden = this.rows.length > 0;
  }

  async save() {
    this.error.textContent = '';
    this.saved.textContent = '';
    const fields = [];
    for (const row of this.rows) {
      const { field, problem, focus } = row.value();
      if (problem) {
        this.error.textContent = t(problem, { number: row.index });
        focus.focus();
        return;
      }
      fields.push(field);
    }
    try {
      const doc = await this.api.request('PUT', ROUTE, { json: { enabled: this.enabled.checked, fields } });
      this.show(doc.prechat);
      this.saved.textContent = t('prechatForm.saved');
    } catch (error) {
      this.error.textContent = error.doc && error.doc.message ? `${errorText(error)} (${error.doc.field || ''})` : errorText(error);
    }
  }
}
