// The satisfaction question (CSAT) under a resolved or closed chat the visitor has not rated:
// five stars, an optional comment and Send, to POST /api/chat/rooms/{id}/rating (one answer per
// chat; the server refuses a second). A chunk of its own with its own strings (the catalogue's
// "rating" scope), both loaded only when such a chat is shown; plain DOM calls and no shared
// imports, as offline.js.

const CSS = `.rating{margin:8px 12px;padding:10px 12px;border:1px solid #cbd5e1;border-radius:10px;background:#f8fafc;
font-size:13px;display:grid;gap:6px}.rating p{margin:0}.rating .stars{display:flex;gap:2px}
.rating .stars button{font-size:22px;line-height:1;padding:2px 4px;border:0;background:none;color:#94a3b8;cursor:pointer}
.rating .stars [aria-checked=true]{color:#b45309}.rating textarea{font:inherit;padding:6px 8px;border:1px solid #cbd5e1;
border-radius:8px}.rating .send{justify-self:start;padding:5px 10px;border-radius:8px;border:1px solid #cbd5e1;
background:#fff;color:#0f172a;font:inherit;cursor:pointer}.rating .error{color:#b91c1c}`;
const RATEABLE = ['resolved', 'closed'];
let strings = null;

function make(tag, props, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

/** Show, keep or take away the question for ``room`` (the widget's room after every change). */
export async function ask(widget, room, locale, errorText) {
  const view = widget.view;
  const box = view.ratingBox;
  if (!room || room.rating || !RATEABLE.includes(room.status)) {
    if (box && !(room && room.rating && box.roomId === room.id)) { box.remove(); view.ratingBox = null; }
    return;
  }
  if (box && box.roomId === room.id) return;
  if (box) { box.remove(); view.ratingBox = null; }
  if (!strings) {
    strings = (await widget.api.get('/api/i18n', { prefer: locale, scope: 'rating' })).messages;
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    view.shadow.adoptedStyleSheets = [...view.shadow.adoptedStyleSheets, sheet];
  }
  const now = widget.conversation && widget.conversation.room;
  // Moved on (a new chat, reopened, rated, asked already) while the strings loaded:
  if (!now || now.id !== room.id || now.rating || !RATEABLE.includes(now.status) || view.ratingBox) return;
  const s = (key, score) => (strings[`rating.${key}`] || key).replace('{score}', score);
  let score = 0;
  const question = make('p', { id: 'chatapp-rating-question', textContent: s('question') });
  const stars = [1, 2, 3, 4, 5].map((n) => {
    const star = make('button', { type: 'button', textContent: '★' });
    star.setAttribute('role', 'radio');
    star.setAttribute('aria-checked', 'false');
    star.setAttribute('aria-label', s('star', n));
    star.onclick = () => {
      score = n;
      stars.forEach((other, i) => other.setAttribute('aria-checked', String(i < n)));
      comment.hidden = send.hidden = false;
    };
    return star;
  });
  const group = make('div', { className: 'stars' }, ...stars);
  group.setAttribute('role', 'radiogroup');
  group.setAttribute('aria-labelledby', question.id);
  const comment = make('textarea', { rows: 2, maxLength: 1000, placeholder: s('comment'), hidden: true });
  comment.setAttribute('aria-label', s('comment'));
  const error = make('p', { className: 'error', role: 'alert' });
  const send = make('button', { type: 'button', className: 'send', textContent: s('send'), hidden: true });
  const thanks = () => card.replaceChildren(make('p', { role: 'status', textContent: s('thanks') }));
  send.onclick = async () => {
    send.disabled = true;
    error.textContent = '';
    try {
      await widget.api.post(`/api/chat/rooms/${room.id}/rating`, { score, comment: comment.value });
      thanks();
    } catch (problem) {
      if (problem.code === 'already_rated') { thanks(); return; }
      error.textContent = errorText(problem);
      send.disabled = false;
    }
  };
  const card = make('div', { className: 'rating' }, question, group, comment, error, send);
  card.roomId = room.id;
  view.ratingBox = card;
  view.note.after(card);
}
