// The pre-chat form: before a visitor's first chat, the questions the site's admins set (name,
// e-mail, fields of the site's own), in place of the composer until answered. The fields come
// from GET /api/chat/prechat, already labelled in the visitor's language and without what a
// signed-in visitor's account knows; the answers go to POST /api/chat/prechat, kept on the
// contact, and the visitor's first message then starts the chat as usual. Checked here first
// (required, e-mail, number) and again by the server, whose 422 names each field at fault.
// A chunk of its own with its own strings (the catalogue's "prechat" scope), loaded only when
// the site has a form; plain DOM calls and no shared imports, for the reasons forget.js gives.

const CSS = `.prechat{margin:10px 0 4px;padding:10px 12px;border:1px solid #cbd5e1;border-radius:10px;background:#fff;
color:#0f172a;font-size:13px;display:grid;gap:8px}.prechat p{margin:0}.prechat .field{display:grid;gap:3px}
.prechat input:not([type=checkbox]),.prechat select{font:inherit;padding:6px 8px;border:1px solid #cbd5e1;
border-radius:8px;background:#fff;color:inherit}.prechat .tick{display:flex;gap:6px;align-items:flex-start}
.prechat [aria-invalid=true]{border-color:#b91c1c;outline-color:#b91c1c}.prechat .problem,.prechat .error{color:#b91c1c}
.prechat .problem:empty,.prechat .error:empty{display:none}.prechat .hint{color:#475569;font-size:12px}
.prechat button{justify-self:start;padding:6px 12px;border-radius:8px;border:1px solid #1d4ed8;background:#1d4ed8;
color:#fff;font:inherit;cursor:pointer}.prechat button:disabled{opacity:.6}`;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const NUMBER = /^-?\d+([.,]\d+)?$/;
const LIMITS = { name: 100, email: 254 };
let strings = null;
let answered = null; // the visitor who needs no form (sent it, or nothing to ask): later openings ask nothing

function make(tag, props, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

/** One field: its control, its error line, and a reader of its answer; ``before``: what was written. */
function control(field, s, index, before) {
  const id = `chatapp-prechat-${index}`;
  const problem = make('p', { className: 'problem', id: `${id}-problem` });
  const text = field.label + (field.required ? ' *' : '');
  let input;
  let row;
  if (field.type === 'checkbox') {
    input = make('input', { type: 'checkbox', id, checked: before === true });
    row = make('div', { className: 'field' }, make('label', { className: 'tick' }, input, make('span', { textContent: text })), problem);
  } else {
    if (field.type === 'select') {
      input = make('select', { id }, make('option', { value: '', textContent: s('choose') }),
        ...field.options.map((option) => make('option', { value: option.value, textContent: option.label })));
    } else {
      input = make('input', { id, type: field.type === 'email' ? 'email' : 'text', value: field.value || '', maxLength: LIMITS[field.type] || 500 });
      if (typeof before === 'string' && before) input.value = before;
      if (field.type === 'number') input.inputMode = 'decimal';
      if (field.type === 'name' || field.type === 'email') input.autocomplete = field.type;
    }
    row = make('div', { className: 'field' }, make('label', { htmlFor: id, textContent: text }), input, problem);
  }
  if (field.type === 'select' && typeof before === 'string') input.value = before;
  input.name = field.key;
  if (field.required) input.setAttribute('aria-required', 'true');
  input.setAttribute('aria-describedby', problem.id);
  const value = () => (field.type === 'checkbox' ? input.checked : input.value.trim());
  return { field, input, problem, row, value };
}

/** What is wrong with one answer, as the server names it (null: nothing). */
function check({ field, value }) {
  const answer = value();
  if (field.type === 'checkbox') return field.required && !answer ? 'required' : null;
  if (!answer) return field.required ? 'required' : null;
  if (field.type === 'email' && !EMAIL.test(answer)) return 'email';
  if (field.type === 'number' && !NUMBER.test(answer)) return 'number';
  return null;
}

/** Show the form when the site has one, the visitor has no chat yet and has not answered it before;
 * ``before``: the answers written in a form that changed meanwhile, kept in the new one. */
export async function ask(widget, errorText, before = {}) {
  const view = widget.view;
  const composer = view.composer.form;
  const talking = () => Boolean(widget.conversation && widget.conversation.room);
  if (!widget.me || answered === widget.me.id || view.prechatBox || view.prechatAsking || talking()) return;
  composer.hidden = true; // until the answers are in: the first message would start the chat without them
  const prefer = view.status ? view.status.locale : '';
  let form;
  view.prechatAsking = true; // opened again meanwhile: one form
  try {
    [form, strings] = await Promise.all([
      widget.api.get('/api/chat/prechat', { prefer }),
      strings || widget.api.get('/api/i18n', { prefer, scope: 'prechat' }).then((doc) => doc.messages),
    ]);
  } catch {
    composer.hidden = false; // a form that cannot be loaded never stops a visitor from writing
    return;
  } finally {
    view.prechatAsking = false;
  }
  if (!form.enabled || form.done || !form.fields.length || talking()) {
    if (form.done || (form.enabled && !form.fields.length)) answered = widget.me.id;
    composer.hidden = false;
    return;
  }
  if (!view.prechatSheet) {
    view.prechatSheet = new CSSStyleSheet();
    view.prechatSheet.replaceSync(CSS);
    view.shadow.adoptedStyleSheets = [...view.shadow.adoptedStyleSheets, view.prechatSheet];
  }
  const s = (key) => strings[`prechat.${key}`] || key;
  const controls = form.fields.map((field, index) => control(field, s, index, before[field.key]));
  const error = make('p', { className: 'error', role: 'alert' });
  const start = make('button', { type: 'submit', textContent: s('start') });
  const box = make('form', { className: 'prechat', noValidate: true },
    make('p', { textContent: s('title') }),
    form.fields.some((field) => field.required) ? make('p', { className: 'hint', textContent: s('requiredNote') }) : '',
    ...controls.map((one) => one.row), error, start);
  box.setAttribute('aria-label', s('title'));
  const finish = () => {
    box.remove();
    view.prechatBox = null;
    composer.hidden = false;
  };
  // A chat started meanwhile (the offline form, another tab) needs no form, and a visitor signed out
  // (logout, another identity) is asked afresh on the next opening: the composer comes back.
  const setRoom = view.setRoom;
  view.setRoom = (room, subtitle) => {
    setRoom.call(view, room, subtitle);
    if (view.prechatBox === box && (room || !widget.me)) finish();
  };
  const mark = (problems) => {
    for (const one of controls) {
      const code = problems[one.field.key];
      const key = code === 'required' && one.field.type === 'checkbox' ? 'tick' : code;
      one.input.setAttribute('aria-invalid', String(Boolean(code)));
      one.problem.textContent = code ? s(`problem.${key}`) : '';
    }
    const first = controls.find((one) => problems[one.field.key]);
    if (first) first.input.focus();
    error.textContent = Object.keys(problems).length ? s('invalid') : '';
  };
  box.onsubmit = async (event) => {
    event.preventDefault();
    const problems = {};
    for (const one of controls) {
      const code = check(one);
      if (code) problems[one.field.key] = code;
    }
    mark(problems);
    if (Object.keys(problems).length) return;
    start.disabled = true;
    try {
      await widget.api.post('/api/chat/prechat', { answers: Object.fromEntries(controls.map((one) => [one.field.key, one.value()])) });
      answered = widget.me.id;
      finish();
      view.composer.focus();
    } catch (problem) {
      const doc = problem.doc || {};
      const asked = (key) => controls.some((one) => one.field.key === key);
      if (doc.problems && Object.entries(doc.problems).some(([key, code]) => code === 'unknown' || !asked(key))) {
        // The site changed its form meanwhile: the new one, with what was written kept.
        box.remove();
        view.prechatBox = null;
        ask(widget, errorText, Object.fromEntries(controls.map((one) => [one.field.key, one.value()])));
        return;
      }
      if (doc.problems) mark(doc.problems);
      else error.textContent = errorText(problem);
      if (problem.code === 'prechat_off') finish(); // switched off meanwhile: nothing to ask any more
    } finally {
      start.disabled = false;
    }
  };
  view.prechatBox = box;
  view.scroller.append(box);
  controls[0].input.focus();
}
