// Labels: coloured tags on chats.
//
//   LabelStore    the team's labels (/api/admin/labels), kept current by the feed's labels.updated
//   LabelManager  the "Labels" dialog of the top bar (owner and admins): add, rename, recolour, delete
//   RoomLabels    the conversation's labels: remove one, add one from the team's
//   labelChip()   one label as a coloured chip (inbox rows, the conversation)
import { el } from '../shared/dom.js';
import { errorText, has, t } from '../shared/i18n.js';

const ROUTE = '/api/admin/labels';
const DEFAULT_COLOR = '#2f80ed';

/** A label's chip: its name (people's text, never translated) on its colour. */
export function labelChip(label, ...extra) {
  const chip = el('span', { class: 'label-chip', dataset: { labelId: label.id } },
    el('span', { class: 'label-dot', 'aria-hidden': 'true' }),
    el('span', { text: label.name, 'data-user-content': '' }), ...extra);
  chip.style.setProperty('--label-color', label.color); // through the CSSOM: the CSP allows no style attributes
  return chip;
}

export class LabelStore {
  constructor(api) {
    this.api = api;
    this.labels = [];
    this.listeners = new Set();
  }

  async load() {
    const { data } = await this.api.get(ROUTE);
    this.set(data);
    return data;
  }

  /** The whole list (from the API or the feed's labels.updated). */
  set(labels) {
    this.labels = labels;
    for (const listener of this.listeners) listener(labels);
  }

  onChange(listener) { this.listeners.add(listener); }

  byId(id) { return this.labels.find((label) => label.id === id) || null; }

  async save(id, fields) {
    if (id) await this.api.request('PATCH', `${ROUTE}/${id}`, { json: fields });
    else await this.api.post(ROUTE, fields);
    await this.load();
  }

  async remove(id) {
    await this.api.request('DELETE', `${ROUTE}/${id}`);
    await this.load();
  }
}

export class LabelManager {
  constructor({ store, button }) {
    this.store = store;
    this.button = button;
  }

  start() {
    this.build();
    this.button.hidden = false;
    this.button.addEventListener('click', () => this.open());
    this.store.onChange((labels) => this.render(labels));
  }

  build() {
    this.name = el('input', { id: 'label-name', name: 'name', required: true, maxlength: 40, autocomplete: 'off' });
    this.color = el('input', { id: 'label-color', name: 'color', type: 'color', value: DEFAULT_COLOR });
    this.error = el('p', { id: 'labels-error', class: 'form-error', role: 'alert' });
    this.list = el('ul', { id: 'labels-list', class: 'label-items' });
    this.empty = el('p', { class: 'muted', text: t('labels.empty') });
    const form = el('form', { id: 'label-form', class: 'label-form', novalidate: true },
      el('label', { for: 'label-name', text: t('labels.name') }), this.name,
      el('label', { for: 'label-color', text: t('labels.color') }), this.color,
      el('button', { type: 'submit', id: 'label-add', class: 'primary', text: t('labels.add') }));
    form.addEventListener('submit', (event) => { event.preventDefault(); this.create(); });
    this.dialog = el('dialog', { id: 'labels-dialog', class: 'labels-dialog', 'aria-labelledby': 'labels-title' },
      el('div', { class: 'canned-head' },
        el('h2', { id: 'labels-title', text: t('labels.title') }),
        el('button', { type: 'button', id: 'labels-close', class: 'ghost', text: t('labels.close'), onclick: () => this.dialog.close() })),
      el('p', { class: 'muted', text: t('labels.intro') }),
      this.list, this.empty, form, this.error);
    document.body.append(this.dialog);
  }

  async open() {
    this.error.textContent = '';
    this.dialog.showModal();
    await this.attempt(() => this.store.load());
  }

  render(labels) {
    this.empty.hidden = labels.length > 0;
    this.list.replaceChildren(...labels.map((label) => {
      const name = el('input', { value: label.name, maxlength: 40, 'aria-label': t('labels.rename', { name: label.name }) });
      const color = el('input', { type: 'color', value: label.color, 'aria-label': t('labels.recolor', { name: label.name }) });
      return el('li', { class: 'label-item', dataset: { id: label.id } }, labelChip(label), name, color,
        el('button', { type: 'button', class: 'ghost', dataset: { action: 'save' }, text: t('labels.save'),
          'aria-label': t('labels.saveLabel', { name: label.name }),
          onclick: () => this.attempt(() => this.store.save(label.id, { name: name.value, color: color.value })) }),
        el('button', { type: 'button', class: 'danger', dataset: { action: 'delete' }, text: t('labels.delete'),
          'aria-label': t('labels.deleteLabel', { name: label.name }),
          onclick: () => this.attempt(() => this.store.remove(label.id)) }));
    }));
  }

  async create() {
    const name = this.name.value;
    if (await this.attempt(() => this.store.save(null, { name, color: this.color.value }))) {
      // Only the name that was saved: the next one may already be typed while this one was sent.
      if (this.name.value === name) this.name.value = '';
    }
  }

  /** Run one change; its error in words (a bad name as such). True when it worked. */
  async attempt(change) {
    this.error.textContent = '';
    try {
      await change();
      return true;
    } catch (error) {
      const field = error.code === 'invalid_input' && error.doc && error.doc.field;
      this.error.textContent = field && has(`labels.invalid.${field}`) ? t(`labels.invalid.${field}`) : errorText(error);
      return false;
    }
  }
}

export class RoomLabels {
  /** onError(text): a change was refused. */
  constructor({ api, store, onError }) {
    this.api = api;
    this.store = store;
    this.onError = onError;
    this.roomId = null;
    this.ids = [];
    this.chips = el('span', { class: 'room-labels-chips' });
    this.picker = el('select', { class: 'label-picker', 'aria-label': t('labels.addToChat'), onchange: () => this.add(Number(this.picker.value)) });
    this.node = el('div', { class: 'room-labels-section', hidden: true },
      el('h3', { id: 'room-labels-title', text: t('labels.title') }),
      el('div', { class: 'room-labels', role: 'group', 'aria-labelledby': 'room-labels-title' }, this.chips, this.picker));
    store.onChange(() => this.render());
  }

  /** The conversation on screen and its label ids. */
  show(roomId, ids) {
    this.roomId = roomId;
    this.ids = ids || [];
    this.render();
  }

  /** A chat's labels changed (here or in another panel: the feed's room.labels). */
  changed(roomId, ids) {
    if (roomId === this.roomId) this.show(roomId, ids);
  }

  render() {
    const labels = this.ids.map((id) => this.store.byId(id)).filter(Boolean);
    this.chips.replaceChildren(...labels.map((label) => labelChip(label,
      el('button', { type: 'button', class: 'label-remove', text: '×', 'aria-label': t('labels.remove', { name: label.name }), onclick: () => this.remove(label.id) }))));
    const free = this.store.labels.filter((label) => !this.ids.includes(label.id));
    this.picker.replaceChildren(el('option', { value: '', text: t('labels.addToChat') }),
      ...free.map((label) => el('option', { value: String(label.id), text: label.name, 'data-user-content': '' })));
    this.picker.hidden = free.length === 0;
    this.node.hidden = this.store.labels.length === 0 && labels.length === 0; // a team without labels sees none of this
  }

  async add(labelId) {
    if (!labelId) return;
    await this.change(() => this.api.post(`/api/admin/chat/rooms/${this.roomId}/labels`, { label_id: labelId }));
  }

  async remove(labelId) {
    await this.change(() => this.api.request('DELETE', `/api/admin/chat/rooms/${this.roomId}/labels/${labelId}`));
  }

  async change(request) {
    const roomId = this.roomId;
    try {
      const doc = await request();
      this.changed(roomId, doc.labels);
    } catch (error) {
      this.onError(errorText(error));
      this.render();
    }
  }
}
