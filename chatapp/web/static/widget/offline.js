// The offline form, offered while nobody can answer ("Leave us a message" under the status):
// name, e-mail and message, sent to POST /api/chat/offline, where it becomes a chat in the
// inbox and the address gets the reply by e-mail. A chunk of its own with its own strings
// (the catalogue's "offline" scope), both loaded on the click only; plain DOM calls and no
// shared imports, for the reasons forget.js gives.

const CSS = `.offline{margin:8px 12px;padding:10px 12px;border:1px solid #cbd5e1;border-radius:10px;background:#f8fafc;
font-size:13px;display:grid;gap:6px}.offline h3{margin:0;font-size:14px}.offline input,.offline textarea{font:inherit;
padding:6px 8px;border:1px solid #cbd5e1;border-radius:8px}.offline [aria-invalid=true]{border-color:#b91c1c}
.offline .error{color:#b91c1c;margin:0}.offline button{justify-self:start;padding:5px 10px;border-radius:8px;
border:1px solid #cbd5e1;background:#fff;color:#0f172a;font:inherit;cursor:pointer}`;
const FIELDS = ['name', 'email', 'message'];
let strings = null;

function make(tag, props, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

export async function leave(widget, errorText) {
  const view = widget.view;
  if (view.offlineBox) { view.offlineBox.querySelector('input').focus(); return; }
  if (!widget.me) await widget.ensureGuest();
  if (!strings) {
    const prefer = view.status ? view.status.locale : '';
    strings = (await widget.api.get('/api/i18n', { prefer, scope: 'offline' })).messages;
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    view.shadow.adoptedStyleSheets = [...view.shadow.adoptedStyleSheets, sheet];
  }
  const s = (key) => strings[`offline.${key}`] || key;
  const me = widget.me || {};
  const inputs = {
    name: make('input', { name: 'name', autocomplete: 'name', required: true, maxLength: 100, value: me.name || '' }),
    email: make('input', { name: 'email', type: 'email', autocomplete: 'email', required: true, value: me.email || '' }),
    message: make('textarea', { name: 'message', rows: 3, required: true }),
  };
  const labelled = FIELDS.flatMap((field) => {
    inputs[field].id = `chatapp-offline-${field}`;
    return [make('label', { htmlFor: inputs[field].id, textContent: s(field) }), inputs[field]];
  });
  const error = make('p', { className: 'error', role: 'alert' });
  const send = make('button', { type: 'submit', textContent: s('send') });
  const box = make('form', { className: 'offline', noValidate: true }, make('h3', { textContent: s('title') }),
    ...labelled, error, send);
  box.onsubmit = async (event) => {
    event.preventDefault();
    send.disabled = true;
    error.textContent = '';
    const body = Object.fromEntries(FIELDS.map((field) => [field, inputs[field].value]));
    try {
      const doc = await widget.api.post('/api/chat/offline', body);
      box.replaceChildren(make('p', { role: 'status', textContent: s('sent') }));
      view.offlineBox = null;
      setTimeout(() => box.remove(), 8000);
      if (widget.conversation && !widget.conversation.room) await widget.conversation.open(doc.room);
    } catch (problem) {
      const doc = problem.doc || {};
      const bad = doc.fields || (doc.field ? [doc.field] : []);
      for (const field of FIELDS) inputs[field].setAttribute('aria-invalid', String(bad.includes(field)));
      error.textContent = bad.length ? s('invalid') : errorText(problem);
      send.disabled = false;
    }
  };
  view.offlineBox = box;
  view.scroller.after(box);
  inputs.name.focus();
}
