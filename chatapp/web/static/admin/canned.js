// Canned replies: the team's and my own saved answers.
//
//   CannedStore    the replies I may use (/api/admin/canned-replies), loaded once and after each change
//   CannedPicker   in the composer: "/" at the start of the message opens a list filtered by what
//                  follows; Up/Down move, Enter or Tab inserts, Escape closes, a click inserts too
//   CannedManager  the "Canned replies" dialog of the top bar: list, add, edit and delete them
//
// Inserting fills the variables ({{visitor.name}}, {{agent.name}}); the server refuses others.
import { el } from '../shared/dom.js';
import { errorText, has, t } from '../shared/i18n.js';
import { ComposerPicker } from './picker.js';

const ROUTE = '/api/admin/canned-replies';
const VARIABLE_RE = /\{\{\s*([\w.]+)\s*\}\}/g;
const SLASH_RE = /^\/(\S*)$/; // the whole message so far is "/" and a query without spaces
const MAX_SHOWN = 8;

/** ``body`` with each known {{variable}} replaced by its value; unknown ones stay as written. */
export function fillVariables(body, values) {
  return body.replace(VARIABLE_RE, (whole, name) => (Object.hasOwn(values, name) ? values[name] : whole));
}

/** Replies for ``query`` (what follows the slash), best first: code prefix, then code, then body. */
export function matching(replies, query) {
  const q = query.toLocaleLowerCase();
  const rank = (r) => {
    if (r.code.startsWith(q)) return 0;
    if (r.code.includes(q)) return 1;
    return r.body.toLocaleLowerCase().includes(q) ? 2 : 3;
  };
  return replies.map((reply) => ({ reply, rank: rank(reply) })).filter((x) => x.rank < 3)
    .sort((a, b) => a.rank - b.rank || a.reply.code.localeCompare(b.reply.code)).map((x) => x.reply);
}

export class CannedStore {
  constructor(api) {
    this.api = api;
    this.replies = [];
    this.loading = null;
    this.listeners = new Set();
  }

  /** The replies, loaded the first time they are needed (and tried again after a failure). */
  ready() {
    if (!this.loading) this.loading = this.reload().catch((error) => { this.loading = null; throw error; });
    return this.loading;
  }

  /** The replies as they are now (what other agents changed too); the last known ones if that fails. */
  fresh() {
    return this.reload().catch(() => this.ready());
  }

  async reload() {
    const { data } = await this.api.get(ROUTE);
    this.replies = data;
    this.loading = Promise.resolve(data);
    for (const listener of this.listeners) listener(data);
    return data;
  }

  onChange(listener) { this.listeners.add(listener); }

  async save(id, doc) {
    const saved = id ? await this.api.request('PATCH', `${ROUTE}/${id}`, { json: doc }) : await this.api.post(ROUTE, doc);
    await this.reload();
    return saved.reply;
  }

  async remove(id) {
    await this.api.request('DELETE', `${ROUTE}/${id}`);
    await this.reload();
  }
}

export class CannedPicker extends ComposerPicker {
  /** composer: the room's Composer; variables() -> {'visitor.name': ..., 'agent.name': ...} now. */
  constructor({ store, composer, variables }) {
    super({ composer, name: 'canned', label: t('canned.listLabel') });
    this.store = store;
    this.variables = variables;
    this.dismissed = null; // the text Escape closed the list on; it stays closed until the text changes
    store.onChange(() => { if (this.isOpen()) this.update(false); });
  }

  /** Show the list for the message box's text; ``refetch``: a list opened by a new "/" asks the server. */
  async update(refetch = true) {
    const text = this.input.value;
    const match = SLASH_RE.exec(text);
    if (!match || text === this.dismissed) { this.close(); return; }
    this.dismissed = null;
    let replies;
    try {
      replies = await (refetch && text === '/' ? this.store.fresh() : this.store.ready());
    } catch (error) {
      this.showEmpty(errorText(error));
      return;
    }
    if (this.input.value !== text) return; // typed on meanwhile: that input event shows its own list
    const chosen = this.shown[this.active]; // kept when the list is only refreshed
    const shown = matching(replies, match[1]).slice(0, MAX_SHOWN);
    if (!shown.length) {
      this.showEmpty(replies.length ? t('canned.noMatch', { query: match[1] }) : t('canned.noneYet'));
      return;
    }
    this.show(shown, (reply) => [
      el('span', { class: 'canned-code', text: `/${reply.code}`, 'data-user-content': '' }),
      el('span', { class: 'canned-scope', text: t(`canned.tag.${reply.scope}`) }),
      el('span', { class: 'canned-body', text: reply.body, 'data-user-content': '' })],
    Math.max(0, chosen ? shown.findIndex((r) => r.id === chosen.id) : 0));
    [...this.list.children].forEach((item, i) => { item.dataset.code = shown[i].code; });
  }

  dismiss() {
    this.dismissed = this.input.value;
    this.close();
  }

  insert(index) {
    const reply = this.shown[index];
    if (!reply) return;
    this.close();
    this.input.value = fillVariables(reply.body, this.variables());
    this.input.dispatchEvent(new Event('input', { bubbles: true })); // resizes the box, tells "typing"
    this.input.focus();
    this.input.setSelectionRange(this.input.value.length, this.input.value.length);
  }
}

export class CannedManager {
  constructor({ store, button }) {
    this.store = store;
    this.button = button;
    this.editing = null;
  }

  start() {
    this.build();
    this.button.addEventListener('click', () => this.open());
    this.store.onChange((replies) => this.render(replies));
  }

  build() {
    const field = (id, label, control) => [el('label', { for: id, text: label }), control];
    this.code = el('input', { id: 'canned-code', name: 'code', required: true, maxlength: 33, autocomplete: 'off', placeholder: t('canned.codePlaceholder') });
    this.body = el('textarea', { id: 'canned-body', name: 'body', required: true, maxlength: 2000, rows: 3 });
    this.scope = el('select', { id: 'canned-scope', name: 'scope' },
      el('option', { value: 'team', text: t('canned.scope.team') }),
      el('option', { value: 'personal', text: t('canned.scope.personal') }));
    this.error = el('p', { id: 'canned-error', class: 'form-error', role: 'alert' });
    this.formTitle = el('h3', { id: 'canned-form-title' });
    this.submit = el('button', { type: 'submit', id: 'canned-save', class: 'primary', text: t('canned.save') });
    this.cancelEdit = el('button', { type: 'button', id: 'canned-cancel-edit', text: t('canned.cancelEdit'), onclick: () => this.edit(null) });
    this.form = el('form', { id: 'canned-form', class: 'canned-form', novalidate: true, 'aria-labelledby': 'canned-form-title' },
      this.formTitle,
      field('canned-code', t('canned.code'), this.code),
      field('canned-body', t('canned.body'), this.body),
      el('p', { class: 'muted canned-variables' }, t('canned.variables'), ' ',
        el('code', { translate: 'no', text: '{{visitor.name}}' }), ` ${t('canned.variable.visitor')}, `,
        el('code', { translate: 'no', text: '{{agent.name}}' }), ` ${t('canned.variable.agent')}`),
      field('canned-scope', t('canned.scope'), this.scope),
      this.error,
      el('div', { class: 'dialog-actions' }, this.cancelEdit, this.submit));
    this.form.addEventListener('submit', (event) => { event.preventDefault(); this.save(); });
    this.lists = { team: el('ul', { id: 'canned-team', class: 'canned-items' }), personal: el('ul', { id: 'canned-personal', class: 'canned-items' }) };
    this.emptyText = { team: el('p', { class: 'muted', text: t('canned.emptyTeam') }), personal: el('p', { class: 'muted', text: t('canned.emptyPersonal') }) };
    this.dialog = el('dialog', { id: 'canned-dialog', class: 'canned-dialog', 'aria-labelledby': 'canned-title' },
      el('div', { class: 'canned-head' },
        el('h2', { id: 'canned-title', text: t('canned.title') }),
        el('button', { type: 'button', id: 'canned-close', class: 'ghost', text: t('canned.close'), onclick: () => this.dialog.close() })),
      el('p', { class: 'muted', text: t('canned.intro') }),
      el('h3', { text: t('canned.teamHeading') }), this.lists.team, this.emptyText.team,
      el('h3', { text: t('canned.personalHeading') }), this.lists.personal, this.emptyText.personal,
      this.form);
    document.body.append(this.dialog);
    this.edit(null);
  }

  async open() {
    this.edit(null);
    this.dialog.showModal();
    try {
      await this.store.reload();
    } catch (error) {
      this.error.textContent = errorText(error);
    }
  }

  render(replies) {
    for (const scope of ['team', 'personal']) {
      const mine = replies.filter((r) => r.scope === scope);
      this.lists[scope].replaceChildren(...mine.map((reply) => el('li', { class: 'canned-item', dataset: { id: reply.id, code: reply.code } },
        el('span', { class: 'canned-code', text: `/${reply.code}`, 'data-user-content': '' }),
        el('span', { class: 'canned-body', text: reply.body, 'data-user-content': '' }),
        el('span', { class: 'canned-item-actions' },
          el('button', { type: 'button', class: 'ghost', dataset: { action: 'edit' }, text: t('canned.edit'), 'aria-label': t('canned.editLabel', { code: reply.code }), onclick: () => this.edit(reply) }),
          el('button', { type: 'button', class: 'danger', dataset: { action: 'delete' }, text: t('canned.delete'), 'aria-label': t('canned.deleteLabel', { code: reply.code }), onclick: () => this.remove(reply) })))));
      this.emptyText[scope].hidden = mine.length > 0;
    }
  }

  /** Fill the form with ``reply`` to change it, or empty it for a new one (null). */
  edit(reply) {
    this.editing = reply;
    this.code.value = reply ? reply.code : '';
    this.body.value = reply ? reply.body : '';
    this.scope.value = reply ? reply.scope : 'team';
    this.formTitle.textContent = t(reply ? 'canned.editTitle' : 'canned.addTitle');
    this.cancelEdit.hidden = !reply;
    this.error.textContent = '';
    if (reply) this.code.focus();
  }

  async save() {
    this.submit.disabled = true;
    this.error.textContent = '';
    try {
      await this.store.save(this.editing && this.editing.id,
        { code: this.code.value, body: this.body.value, scope: this.scope.value });
      this.edit(null);
    } catch (error) {
      const field = error.code === 'invalid_input' && error.doc && error.doc.field;
      this.error.textContent = field && has(`canned.invalid.${field}`) ? t(`canned.invalid.${field}`) : errorText(error);
      if (field && this.form.elements.namedItem(field)) this.form.elements.namedItem(field).focus();
    } finally {
      this.submit.disabled = false;
    }
  }

  async remove(reply) {
    this.error.textContent = '';
    try {
      await this.store.remove(reply.id);
      if (this.editing && this.editing.id === reply.id) this.edit(null);
    } catch (error) {
      this.error.textContent = errorText(error);
    }
  }
}
