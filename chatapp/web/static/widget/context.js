// Where the visitor is, for support's details pane: once per page view of a chat not closed, the
// page's address and title, the referrer and the time zone, to POST /api/chat/rooms/{id}/pages.
// The browser, OS and language are the server's to read (User-Agent, Accept-Language), never
// names a page script could set. A chunk of its own, loaded once there is a chat; it shows nothing.

const MAX_URL = 2048;
const WATCH_MS = 2000;
let reported = '';
let current = null; // [api, room] of the latest report: what a single-page site's navigation reports to

const web = (url) => (/^https?:/.test(url) && url.length <= MAX_URL ? url : '');

/** Report this page for ``room`` (the widget's room after every change): once per room and address. */
export function report(api, room) {
  if (!current) watch();
  current = [api, room];
  if (!room) return; // "Start a new conversation": no chat until its first message
  const href = location.href;
  const url = web(href) || web(location.origin + location.pathname);
  const key = `${room.id} ${url}`;
  if (!url || room.status === 'closed' || key === reported) return;
  reported = key;
  api.post(`/api/chat/rooms/${room.id}/pages`, {
    url,
    title: document.title.slice(0, 300),
    referrer: web(document.referrer),
    tz: Intl.DateTimeFormat().resolvedOptions().timeZone || '',
  }).catch(() => { if (reported === key) reported = ''; }); // told again at the chat's next change
}

/**
 * A single-page site changes its address without loading the widget again (history.pushState
 * fires no event): the address is compared every two seconds and on back/forward, and a new one
 * is reported as a page view. Nothing is sent while the address stays the same.
 */
function watch() {
  let seen = location.href;
  const check = () => {
    if (location.href === seen) return;
    seen = location.href;
    report(...current);
  };
  addEventListener('popstate', check);
  addEventListener('hashchange', check);
  setInterval(check, WATCH_MS);
}
