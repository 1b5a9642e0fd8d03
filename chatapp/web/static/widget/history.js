// The visitor's earlier conversations: "Previous conversations" in the widget's footer, shown
// when they have more than the one on screen, opens a list (newest first: date, last message,
// status; GET /api/chat/rooms, keyset pages) and, on a click, that conversation read-only
// (GET /api/chat/rooms/{id}/messages, the visitor's own rooms only; private notes never come).
// Back returns to the list, then to the chat; "Start a new conversation" under a closed chat.
// A chunk of its own with its own strings (the catalogue's "history" scope), loaded only for a
// visitor with earlier conversations. No shared imports (see forget.js): the thread is drawn by
// the widget's own ThreadView and Thread classes, reached through its instances.

const CSS = `.panel.browsing>:not(.head):not(.banner):not(.history):not(.foot){display:none}
.history{flex:1;display:flex;flex-direction:column;min-height:0;background:var(--canvas)}.history[hidden]{display:none}
.history .bar{display:flex;align-items:center;gap:8px;padding:8px 12px;border-bottom:1px solid var(--line);background:var(--bg)}
.history h3{margin:0;font-size:14px;flex:1}.history .list{flex:1;overflow-y:auto;margin:0;padding:8px 12px;list-style:none;
display:grid;gap:6px;align-content:start}.history .room{width:100%;text-align:left;display:grid;gap:2px;padding:8px 10px;
border:1px solid var(--line);border-radius:10px;background:var(--bg);color:var(--ink)}.history .room .top{display:flex;
justify-content:space-between;gap:8px;font-size:12px;color:var(--muted)}.history .room .preview{overflow:hidden;
text-overflow:ellipsis;white-space:nowrap}.history .room.unread .preview{font-weight:650}.history .bar button,
.history .more,.history .new{padding:4px 10px;border-radius:8px;border:1px solid var(--line);background:var(--bg);
color:var(--ink);font-size:13px}.history .more,.history .new{margin:6px auto}.history .error{color:var(--danger);margin:8px 12px}
.history .read-only{margin:0;padding:8px 14px;font-size:13px;background:var(--soft);border-top:1px solid var(--line)}`;
const PAGE = 20;
let strings = null;
let locale = 'en';

function make(tag, props, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children.filter((child) => child !== null));
  return node;
}

const s = (key) => strings[`history.${key}`] || key;

async function loadStrings(widget) {
  if (strings) return;
  const prefer = widget.view.status ? widget.view.status.locale : '';
  const doc = await widget.api.get('/api/i18n', { prefer, scope: 'history' });
  strings = doc.messages;
  locale = doc.locale;
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(CSS);
  widget.view.shadow.adoptedStyleSheets = [...widget.view.shadow.adoptedStyleSheets, sheet];
}

function day(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? '' : new Intl.DateTimeFormat(locale, { dateStyle: 'medium' }).format(date);
}

/** The room on screen in the chat (its own entry is not "previous"). */
const shownRoomId = (widget) => (widget.conversation && widget.conversation.room ? widget.conversation.room.id : null);

/** "Previous conversations" in the footer, for the account signed in now; the widget calls this when
 * the visitor has conversations besides the one on screen (at start, and after starting a new one). */
export async function entry(widget, t, errorText) {
  const view = widget.view;
  try {
    await loadStrings(widget);
  } catch {
    return; // offline for now: offered again on the next page or the next new chat
  }
  const owner = widget.me && widget.me.id;
  if (!view.historyButton) {
    const button = make('button', { type: 'button', className: 'history-entry', textContent: s('open') });
    button.onclick = () => open(widget, t, errorText);
    view.forgetButton.before(button);
    view.historyButton = button;
    // Signed out, or someone else signed in: not theirs to show.
    const setRoom = view.setRoom.bind(view);
    view.setRoom = (room, subtitle) => {
      setRoom(room, subtitle);
      button.hidden = !widget.me || widget.me.id !== button.owner;
      if (button.hidden) close(widget);
    };
  }
  view.historyButton.owner = owner;
  view.historyButton.hidden = !owner;
}

function close(widget) {
  const view = widget.view;
  if (!view.historyBox) return;
  view.historyBox.remove();
  view.historyBox = null;
  view.panel.classList.remove('browsing');
}

/** The list of conversations, newest first, replacing the chat until Back. */
async function open(widget, t, errorText) {
  const view = widget.view;
  close(widget);
  const back = make('button', { type: 'button', textContent: s('back') });
  const list = make('ul', { className: 'list' });
  const more = make('button', { type: 'button', className: 'more', textContent: s('more'), hidden: true });
  const error = make('p', { className: 'error', role: 'alert' });
  const current = widget.conversation && widget.conversation.room;
  const startNew = !current || current.status === 'closed';
  const again = make('button', { type: 'button', className: 'new', textContent: t('widget.startOver'), hidden: !startNew });
  const heading = make('h3', { id: 'chatapp-history-title', textContent: s('title') });
  const box = make('section', { className: 'history' }, make('div', { className: 'bar' }, back, heading), list, more, error, again);
  box.setAttribute('aria-labelledby', heading.id);
  const leave = () => { close(widget); view.historyButton.focus(); };
  back.onclick = leave;
  again.onclick = () => { close(widget); if (current) widget.startOver(); else view.composer.focus(); };
  box.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && view.historyBox === box) { event.stopPropagation(); leave(); }
  });
  let before = null;
  const page = async () => {
    more.hidden = true;
    error.textContent = '';
    try {
      const doc = await widget.api.get('/api/chat/rooms', { per_page: PAGE, ...(before ? { before } : {}) });
      before = doc.meta.next_before;
      const rooms = doc.data.filter((room) => room.id !== shownRoomId(widget));
      list.append(...rooms.map((room) => make('li', {}, row(widget, room, t, errorText))));
      more.hidden = !before;
      if (!list.children.length && !before) list.append(make('li', { textContent: s('empty') }));
    } catch (problem) {
      error.textContent = errorText(problem);
      more.hidden = false;
    }
  };
  more.onclick = page;
  view.historyBox = box;
  view.panel.classList.add('browsing');
  view.scroller.before(box);
  back.focus();
  await page();
}

function preview(room, t) {
  const system = room.last_message_system;
  return system ? t(system.code, system.params || {}) : room.last_message_preview || '';
}

function row(widget, room, t, errorText) {
  const status = s('status.' + room.status);
  const button = make('button', { type: 'button', className: `room${room.unread_count ? ' unread' : ''}` },
    make('span', { className: 'top' }, make('time', { dateTime: room.created_at, textContent: day(room.created_at) }),
      make('span', { className: 'status', textContent: status })),
    make('span', { className: 'preview', textContent: preview(room, t) }));
  button.dataset.room = room.id;
  button.onclick = () => show(widget, room, t, errorText);
  return button;
}

/** One earlier conversation, read-only, with its older pages on demand; Back returns to the list. */
async function show(widget, room, t, errorText) {
  const view = widget.view;
  const listBox = view.historyBox;
  const back = make('button', { type: 'button', textContent: s('back') });
  const heading = make('h3', { id: 'chatapp-history-room', textContent: `${s('conversation')} · ${day(room.created_at)}` });
  const older = make('button', { type: 'button', className: 'more', textContent: t('thread.older'), hidden: true });
  const items = make('ol', { className: 'messages' });
  const log = make('div', {}, items);
  log.setAttribute('role', 'log');
  log.setAttribute('aria-labelledby', heading.id);
  const scroller = make('div', { className: 'scroller', tabIndex: 0 }, older, log);
  const error = make('p', { className: 'error', role: 'alert' });
  const note = make('p', { className: 'read-only', textContent: t(room.status === 'closed' ? 'widget.note.closed' : 'widget.note.resolved') });
  const box = make('section', { className: 'history' }, make('div', { className: 'bar' }, back, heading), scroller, error, note);
  box.setAttribute('aria-labelledby', heading.id);
  const thread = new widget.draft.constructor('user', widget.me.id);
  const drawn = new view.threadView.constructor({
    list: items, scroller, api: widget.api, labels: view.threadView.labels, onRetry: () => {}, onDiscard: () => {},
  });
  back.onclick = () => {
    drawn.clear();
    box.replaceWith(listBox);
    view.historyBox = listBox;
    const again = listBox.querySelector(`[data-room="${room.id}"]`);
    (again || listBox.querySelector('button')).focus();
  };
  box.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && view.historyBox === box) { event.stopPropagation(); back.onclick(); }
  });
  listBox.replaceWith(box);
  view.historyBox = box;
  back.focus();
  const load = async () => {
    older.hidden = true;
    try {
      const doc = await widget.api.get(`/api/chat/rooms/${room.id}/messages`,
        { limit: 50, ...(thread.firstId ? { before: thread.firstId } : {}) });
      doc.data.forEach((message) => thread.add(message));
      drawn.render(thread);
      older.hidden = !doc.has_more;
    } catch (problem) {
      error.textContent = errorText(problem);
    }
  };
  older.onclick = load;
  await load();
  // Support answered after the visitor left: read here, it is read (and no longer mailed or counted).
  if (room.unread_count) widget.api.post(`/api/chat/rooms/${room.id}/read`).catch(() => {});
}
