// "Get notified of replies", offered once the visitor has written (their chat exists): the answer
// may come after they have left. With a service worker of the host site's own (data-service-worker,
// whose script imports chatapp's /widget-sw.js), the Push API and notifications not blocked for the
// site, a click asks the browser's permission, registers that worker, subscribes with the server's
// VAPID key and hands the subscription to POST /api/push/subscriptions. Otherwise, with e-mail on and
// no address on the account, it asks for an address (POST /api/chat/me/email). Never before the
// visitor has written, and never again after an answer: the choice is kept in this browser
// (localStorage). A chunk of its own with its own strings (the catalogue's "push" scope); plain DOM
// calls and no shared imports, as offline.js.

const CSS = `.push-offer{margin:8px 12px;padding:10px 12px;border:1px solid #cbd5e1;border-radius:10px;background:#f8fafc;
color:#0f172a;font-size:13px;display:grid;gap:6px}.push-offer p{margin:0}.push-offer .row{display:flex;gap:8px;flex-wrap:wrap}
.push-offer input{font:inherit;padding:6px 8px;border:1px solid #cbd5e1;border-radius:8px}
.push-offer [aria-invalid=true]{border-color:#b91c1c}.push-offer .error{color:#b91c1c}
.push-offer button{padding:5px 10px;border-radius:8px;border:1px solid #cbd5e1;background:#fff;color:#0f172a;font:inherit;
cursor:pointer}.push-offer .yes{background:#1d4ed8;border-color:#1d4ed8;color:#fff}`;
let strings = null;
let synced = false;

function make(tag, props, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

const storageKey = (widget) => `chatapp.widget.push:${widget.base}`;

/** What this browser answered before: "push", "mail" or "no" (null: never asked). */
function answered(widget) {
  try { return localStorage.getItem(storageKey(widget)); } catch { return 'no'; }
}

function remember(widget, answer) {
  try { localStorage.setItem(storageKey(widget), answer); } catch { /* storage off: asked again next page */ }
}

/** The host page's worker script: ChatWidgetSettings.serviceWorker, else the tag's data-service-worker. */
function workerScript() {
  const settings = window.ChatWidgetSettings || {};
  const tag = document.querySelector('script[src*="widget.js"][data-service-worker]');
  return settings.serviceWorker || (tag ? tag.dataset.serviceWorker : '');
}

function pushable(widget) {
  return Boolean(workerScript() && widget.config.vapid_public_key && 'serviceWorker' in navigator
    && 'PushManager' in window && 'Notification' in window);
}

function keyBytes(value) {
  const padded = value.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (value.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

/** The registration once its worker is active (PushManager.subscribe needs an active worker). */
async function activeRegistration() {
  const registration = await navigator.serviceWorker.register(workerScript());
  const worker = registration.installing || registration.waiting;
  if (worker && !registration.active) {
    await new Promise((resolve, reject) => worker.addEventListener('statechange', () => {
      if (worker.state === 'activated') resolve();
      if (worker.state === 'redundant') reject(new Error('the service worker did not install'));
    }));
  }
  return registration;
}

/** Register the host's worker, subscribe with chatapp's key and store the subscription for this account. */
export async function subscribe(widget) {
  const manager = (await activeRegistration()).pushManager;
  const options = { userVisibleOnly: true, applicationServerKey: keyBytes(widget.config.vapid_public_key) };
  const subscription = (await manager.getSubscription()) || (await manager.subscribe(options));
  try {
    await widget.api.post('/api/push/subscriptions', subscription.toJSON());
  } catch (error) {
    if (error.code !== 'push_endpoint_taken') throw error;
    // This browser's endpoint is registered to whoever chatted here before: a new one for this account.
    await subscription.unsubscribe();
    await widget.api.post('/api/push/subscriptions', (await manager.subscribe(options)).toJSON());
  }
}

async function loadStrings(widget) {
  if (strings) return;
  const prefer = widget.view.status ? widget.view.status.locale : '';
  strings = (await widget.api.get('/api/i18n', { prefer, scope: 'push' })).messages;
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(CSS);
  widget.view.shadow.adoptedStyleSheets = [...widget.view.shadow.adoptedStyleSheets, sheet];
}

const s = (key, params = {}) => Object.entries(params)
  .reduce((text, [name, value]) => text.replace(`{${name}}`, value), strings[`push.offer.${key}`] || key);

/** Called with the widget's room after every change (a room exists once the visitor has written): offers
 * once under a chat not closed, or keeps an earlier "yes" pointed at whoever chats here now. */
export async function offer(widget, room, errorText) {
  const view = widget.view;
  const before = answered(widget);
  if (view.pushBox || !widget.me || !room || room.status === 'closed') return;
  if (before === 'push' && pushable(widget) && Notification.permission === 'granted') {
    // Said yes earlier: the subscription follows whoever chats in this browser now, quietly.
    if (!synced) {
      synced = true;
      subscribe(widget).then(() => remember(widget, 'push'), (error) => console.warn('chat: push:', error.message));
    }
    return;
  }
  if (before) return;
  // Notifications blocked for this site (by the visitor, earlier): e-mail is still on offer.
  const byMail = !pushable(widget) || Notification.permission === 'denied';
  if (byMail && (!widget.config.features.mail || widget.me.email)) return;
  try {
    await loadStrings(widget);
  } catch {
    return; // offline for now: offered again after the next message
  }
  if (view.pushBox) return;
  const error = make('p', { className: 'error', role: 'alert' });
  const no = make('button', { type: 'button', className: 'no', textContent: s('no') });
  const yes = make('button', { type: byMail ? 'submit' : 'button', className: 'yes', textContent: s(byMail ? 'send' : 'allow') });
  const box = make(byMail ? 'form' : 'div', { className: 'push-offer' },
    make('p', { textContent: s(byMail ? 'mailText' : 'text') }));
  box.setAttribute('role', 'group');
  box.setAttribute('aria-label', s(byMail ? 'mailTitle' : 'title'));
  const done = (text) => {
    box.replaceChildren(make('p', { role: 'status', textContent: text }));
    setTimeout(() => { box.remove(); view.pushBox = null; }, 8000);
  };
  no.onclick = () => { remember(widget, 'no'); box.remove(); view.pushBox = null; view.composer.focus(); };
  let email = null;
  if (byMail) {
    email = make('input', { type: 'email', name: 'email', autocomplete: 'email', required: true, maxLength: 254 });
    email.setAttribute('aria-label', s('email'));
    box.append(email);
    box.noValidate = true;
    box.onsubmit = async (event) => {
      event.preventDefault();
      yes.disabled = true;
      error.textContent = '';
      try {
        const doc = await widget.api.post('/api/chat/me/email', { email: email.value });
        widget.me = { ...widget.me, ...doc.user };
        remember(widget, 'mail');
        done(s(doc.email_verification === 'sent' ? 'mailed' : 'mailedVerified', { email: doc.user.email }));
      } catch (problem) {
        const invalid = problem.doc && problem.doc.field === 'email';
        email.setAttribute('aria-invalid', String(Boolean(invalid)));
        error.textContent = invalid ? s('invalid') : errorText(problem);
        yes.disabled = false;
      }
    };
  } else {
    yes.onclick = async () => {
      yes.disabled = true;
      error.textContent = '';
      const permission = await Notification.requestPermission();
      if (permission !== 'granted') {
        remember(widget, 'no'); // refused (or the prompt dismissed): never asked again
        done(s('refused'));
        return;
      }
      try {
        await subscribe(widget);
        synced = true;
        remember(widget, 'push');
        done(s('on'));
      } catch (problem) {
        error.textContent = s('failed', { reason: problem.message || errorText(problem) });
        yes.disabled = false;
      }
    };
  }
  box.append(error, make('div', { className: 'row' }, yes, no));
  view.pushBox = box;
  view.note.after(box);
}
