// The widget's Web Push, served at /widget-sw.js for a host site's own service worker to import:
//
//   // https://shop.example.com/chat-sw.js, named by the widget tag's data-service-worker
//   importScripts('https://chat.example.com/widget-sw.js');
//
// A push from chatapp (support replied, or resolved the chat, while no page of the site had the
// widget open) shows as a notification; a click focuses a tab of the site, or opens the page the
// push names (its widget opens on "?chat=open"). Pushes that are not chatapp's are left to the
// site's own handlers: a site's worker may have notifications of its own.
(() => {
  const ours = (data) => Boolean(data) && typeof data.room_id === 'number' && /^chat-/.test(String(data.tag));

  self.addEventListener('push', (event) => {
    let data = null;
    try { data = event.data ? event.data.json() : null; } catch { return; }
    if (!ours(data)) return;
    event.waitUntil(self.registration.showNotification(String(data.title || ''), {
      body: String(data.body || ''),
      tag: data.tag,
      renotify: true,
      data: { chatapp: true, url: typeof data.url === 'string' ? data.url : '/?chat=open' },
    }));
  });

  /** A tab of this site comes to the front; without one, the pushed page opens (only ever on this origin). */
  self.chatappOpenChat = async (url) => {
    const target = new URL(url, self.location.origin);
    const page = target.origin === self.location.origin ? target.href : new URL('/?chat=open', self.location.origin).href;
    const tabs = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    const tab = tabs.find((client) => new URL(client.url).origin === self.location.origin);
    if (tab) return tab.focus();
    return self.clients.openWindow(page);
  };

  self.addEventListener('notificationclick', (event) => {
    const data = event.notification.data || {};
    if (!data.chatapp) return;
    event.notification.close();
    event.waitUntil(self.chatappOpenChat(data.url));
  });
})();
