// One pusher-js connection to pyreverb: channel auth through chatapp, connection state for banners.
// The widget talks to pusher-js directly (private channels are all it needs; widget/live.js
// bundles pusher-js); the panel, which also joins a presence channel, goes through Laravel Echo
// (admin/realtime.js).

// After a drop, pusher-js waits out a 15 s timeout per attempt even when the server refuses at
// once, so a restarted pyreverb would be noticed late. We restart its attempt on a short backoff.
const RETRY_DELAYS_MS = [1000, 2000, 3000, 5000];
const USER_AUTH_ENDPOINT = '/broadcasting/user-auth';
const OFFLINE_AFTER_MS = 10000;

/**
 * A subscribed channel with the part of Laravel Echo's channel API chatapp uses: events named
 * with a leading dot ('.message.sent' is the event `message.sent`, no namespace).
 */
class Channel {
  constructor(subscription) { this.subscription = subscription; }

  listen(event, callback) {
    this.subscription.bind(event.startsWith('.') ? event.slice(1) : event, callback);
    return this;
  }

  subscribed(callback) {
    this.subscription.bind('pusher:subscription_succeeded', () => callback());
    return this;
  }

  error(callback) {
    this.subscription.bind('pusher:subscription_error', (status) => callback(status));
    return this;
  }
}

export class Realtime {
  /** config: /api/config's "echo" block; api: an Api whose token signs subscriptions. */
  constructor({ Pusher, config, api }) {
    this.api = api;
    this.listeners = new Set();
    this.channels = new Map();
    this.everConnected = false;
    this.lostAt = null;
    this.attempt = 0;
    this.retryTimer = null;
    this.offlineTimer = null;
    this.closed = false;
    this.status = 'connecting'; // connecting | connected | reconnecting | offline
    this.pusher = this.open(Pusher, {
      ...config,
      cluster: '', // pusher-js requires one; pyreverb is reached through wsHost
      enableStats: false,
      // Our own authorizer: the current bearer token, and no X-CSRF-TOKEN header that a
      // host page's <meta name="csrf-token"> would otherwise add (and CORS would refuse).
      channelAuthorization: {
        customHandler: (params, callback) => this.authorize(config.authEndpoint || '/broadcasting/auth', params, callback),
      },
      // Signing the socket in as this account lets the server end it when the account's
      // sessions are revoked (sign out everywhere, a new password, deactivation).
      userAuthentication: {
        endpoint: USER_AUTH_ENDPOINT,
        headers: {},
        customHandler: ({ socketId }, callback) => this.authorize(USER_AUTH_ENDPOINT, { socketId }, callback),
      },
    });
    this.pusher.signin();
    api.socketId = () => this.socketId();
    this.pusher.connection.bind('state_change', ({ current }) => this.changed(current));
    this.onNetwork = () => this.update();
    window.addEventListener('online', this.onNetwork);
    window.addEventListener('offline', this.onNetwork);
  }

  /** The pusher-js client for ``options`` (admin/realtime.js makes it through Laravel Echo). */
  open(Pusher, options) { return new Pusher(options.key, options); }

  authorize(endpoint, { socketId, channelName }, callback) {
    const fields = channelName ? { socket_id: socketId, channel_name: channelName } : { socket_id: socketId };
    this.api
      .post(endpoint, fields)
      .then((doc) => callback(null, doc))
      .catch((error) => callback(error instanceof Error ? error : new Error(String(error)), null));
  }

  changed(state) {
    if (state === 'connected') {
      this.everConnected = true;
      this.lostAt = null;
      this.attempt = 0;
      clearTimeout(this.retryTimer);
      clearTimeout(this.offlineTimer);
    } else if (this.everConnected && this.lostAt === null && !this.closed) {
      this.lostAt = Date.now();
      this.scheduleRetry();
      this.offlineTimer = setTimeout(() => this.update(), OFFLINE_AFTER_MS);
    }
    this.update();
  }

  scheduleRetry() {
    clearTimeout(this.retryTimer);
    const delay = RETRY_DELAYS_MS[Math.min(this.attempt, RETRY_DELAYS_MS.length - 1)];
    this.retryTimer = setTimeout(() => {
      if (this.closed || this.pusher.connection.state === 'connected') return;
      this.attempt += 1;
      this.pusher.connection.retryIn(0);
      this.scheduleRetry();
    }, delay);
  }

  update() {
    let status = 'connecting';
    if (!navigator.onLine) status = 'offline';
    else if (this.pusher.connection.state === 'connected') status = 'connected';
    else if (this.lostAt !== null) status = Date.now() - this.lostAt >= OFFLINE_AFTER_MS ? 'offline' : 'reconnecting';
    else if (['unavailable', 'failed'].includes(this.pusher.connection.state)) status = 'offline';
    if (status === this.status) return;
    this.status = status;
    for (const listener of this.listeners) listener(status);
  }

  onStatus(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  socketId() {
    return this.status === 'connected' ? this.pusher.connection.socket_id || null : null;
  }

  /** The private channel ``name`` (subscribed once however often asked, as Echo does). */
  private(name) {
    const full = `private-${name}`;
    if (!this.channels.has(full)) this.channels.set(full, new Channel(this.pusher.subscribe(full)));
    return this.channels.get(full);
  }

  leave(name) {
    for (const full of [name, `private-${name}`]) {
      if (!this.channels.has(full)) continue;
      this.pusher.unsubscribe(full);
      this.channels.delete(full);
    }
  }

  disconnect() {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.offlineTimer);
    window.removeEventListener('online', this.onNetwork);
    window.removeEventListener('offline', this.onNetwork);
    this.listeners.clear();
    this.pusher.disconnect();
  }
}
