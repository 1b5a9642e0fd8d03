// Telling support about new chats: an in-app toast, a chime, a browser notification when the
// tab is in the background, and Web Push (through the service worker) when it is closed.
import { el } from '../shared/dom.js';
import { errorText, t } from '../shared/i18n.js';

function urlBase64ToBytes(value) {
  const padded = value.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (value.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

/** A toast in the panel's corner for ``roomId``, with an "Open" link; it goes by itself after 8 s. */
export function showToast({ toasts, title, body, roomId, urgent = false, go, kind = '' }) {
  const close = () => node.remove();
  const open = el('a', {
    href: `/admin/chat/${roomId}`,
    onclick: (event) => { event.preventDefault(); close(); go(roomId); },
    text: t('notify.open'),
  });
  const node = el('div', { class: `toast ${urgent ? 'urgent' : ''} ${kind}`.trim(), dataset: { room: roomId } },
    el('div', { class: 'toast-text' }, el('strong', { text: title }), el('span', { text: body, 'data-user-content': '' }), ' ', open),
    el('button', { type: 'button', 'aria-label': t('notify.dismiss'), onclick: close }, '×'));
  toasts.append(node);
  while (toasts.children.length > 4) toasts.firstElementChild.remove();
  setTimeout(close, 8000);
  return node;
}

export class Notifier {
  /** go(roomId) opens a conversation in the panel. */
  constructor({ api, config, chime, toasts, button, go }) {
    this.api = api;
    this.config = config;
    this.chime = chime;
    this.toasts = toasts;
    this.button = button;
    this.go = go;
    this.registration = null;
    this.button.addEventListener('click', () => this.enable());
    this.showState();
    if ('Notification' in window && Notification.permission === 'granted') this.subscribe().catch(() => {});
  }

  supported() { return 'Notification' in window; }

  showState(text) {
    if (!this.supported()) {
      this.button.hidden = true;
      return;
    }
    const permission = Notification.permission;
    this.button.textContent = text || t(permission === 'granted' ? 'notify.on' : permission === 'denied' ? 'notify.blocked' : 'notify.enable');
    this.button.disabled = permission !== 'default';
  }

  async enable() {
    if (!this.supported()) return;
    const permission = await Notification.requestPermission();
    this.showState();
    if (permission === 'granted') await this.subscribe().catch((error) => this.showState(t('notify.noPush', { reason: errorText(error) })));
  }

  /** Register the service worker and a Web Push subscription so chats reach a closed tab. */
  async subscribe() {
    if (!('serviceWorker' in navigator)) return;
    this.registration = await navigator.serviceWorker.register('/admin/sw.js', { scope: '/admin/' });
    const key = this.config.vapid_public_key;
    if (!key || !('PushManager' in window)) return;
    const ready = await navigator.serviceWorker.ready;
    const fresh = () => ready.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: urlBase64ToBytes(key) });
    const subscription = (await ready.pushManager.getSubscription()) || (await fresh());
    try {
      await this.api.post('/api/push/subscriptions', subscription.toJSON());
    } catch (error) {
      if (error.code !== 'push_endpoint_taken') throw error;
      // This browser's endpoint is still registered to whoever signed in here before:
      // let it go and ask the push service for a new one, for this account.
      await subscription.unsubscribe();
      await this.api.post('/api/push/subscriptions', (await fresh()).toJSON());
    }
  }

  /** An in-app toast always; a system notification when the panel is not in front. */
  announce({ title, body, roomId, urgent = false, sound = true }) {
    if (sound) this.chime.play();
    this.toast(title, body, roomId, urgent);
    const background = document.visibilityState !== 'visible' || !document.hasFocus();
    if (background && this.supported() && Notification.permission === 'granted') this.system(title, body, roomId);
  }

  toast(title, body, roomId, urgent) {
    showToast({ toasts: this.toasts, title, body, roomId, urgent, go: this.go });
  }

  system(title, body, roomId) {
    const options = { body, tag: `room-${roomId}`, data: { url: `/admin/chat/${roomId}` }, renotify: true };
    try {
      if (this.registration && this.registration.active) {
        this.registration.showNotification(title, options);
        return;
      }
      const notification = new Notification(title, options);
      notification.onclick = () => { window.focus(); this.go(roomId); notification.close(); };
    } catch { /* some browsers only allow notifications from a service worker */ }
  }
}
