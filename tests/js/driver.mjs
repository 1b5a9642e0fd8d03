// A scriptable real client for the Python test suite.
// Reads JSON commands on stdin (one per line), writes JSON events on stdout.
// Clients: pusher-js 8 ("pusher") and laravel-echo 2 with broadcaster 'reverb' ("echo").
// Channel auth is asked of the Python side ("auth_request" -> "auth_response"),
// which signs with the real Python `pusher` SDK, like a backend auth endpoint would.
import readline from 'node:readline';
import Pusher from 'pusher-js';
import EchoModule from 'laravel-echo';

const Echo = EchoModule.default ?? EchoModule;
const out = (doc) => process.stdout.write(JSON.stringify(doc) + '\n');
const pendingAuth = new Map();
let authSeq = 0;
let pusher = null;
let echo = null;

function askAuth(kind, socketId, channelName) {
  const id = ++authSeq;
  return new Promise((resolve, reject) => {
    pendingAuth.set(id, { resolve, reject });
    out({ type: 'auth_request', id, kind, socket_id: socketId, channel: channelName });
  });
}

function baseOptions(cmd) {
  return {
    wsHost: cmd.host ?? '127.0.0.1',
    wsPort: cmd.port,
    wssPort: cmd.port,
    forceTLS: false,
    enabledTransports: ['ws', 'wss'],
    disableStats: true,
    cluster: 'mt1',
    activityTimeout: cmd.activityTimeout ?? 120000,
    pongTimeout: cmd.pongTimeout ?? 30000,
    wsPath: cmd.wsPath ?? '',
    ...(cmd.options ?? {}),
  };
}

function watchConnection(p, tag) {
  p.connection.bind('state_change', (s) => out({ type: 'state', client: tag, previous: s.previous, current: s.current, socket_id: p.connection.socket_id ?? null }));
  p.connection.bind('error', (e) => out({ type: 'connection_error', client: tag, error: e?.data ?? e?.error?.data ?? String(e?.type ?? e) }));
  p.bind_global((event, data) => {
    if (event.startsWith('pusher:') && event !== 'pusher:subscription_error' && event !== 'pusher:cache_miss') return;
    out({ type: 'global', client: tag, event, data });
  });
}

function authorizerFor(kind) {
  return (channel) => ({
    authorize: (socketId, callback) => {
      askAuth(kind, socketId, channel.name).then((r) => callback(null, r), (e) => callback(e, null));
    },
  });
}

const commands = {
  pusher(cmd) {
    pusher = new Pusher(cmd.key, {
      ...baseOptions(cmd),
      channelAuthorization: {
        customHandler: (params, callback) => {
          askAuth('channel', params.socketId, params.channelName).then((r) => callback(null, r), (e) => callback(e, null));
        },
      },
      userAuthentication: {
        customHandler: (params, callback) => {
          askAuth('user', params.socketId, null).then((r) => callback(null, r), (e) => callback(e, null));
        },
      },
    });
    watchConnection(pusher, 'pusher');
  },
  echo(cmd) {
    echo = new Echo({
      broadcaster: 'reverb',
      key: cmd.key,
      Pusher,
      authorizer: authorizerFor('channel'),
      ...baseOptions(cmd),
    });
    pusher = echo.connector.pusher;
    watchConnection(pusher, 'echo');
  },
  subscribe(cmd) {
    const ch = pusher.subscribe(cmd.channel);
    ch.bind('pusher:subscription_succeeded', (data) => out({ type: 'subscribed', channel: cmd.channel, data: data ?? null, me: ch.members?.me ?? null }));
    ch.bind('pusher:subscription_error', (err) => out({ type: 'subscription_error', channel: cmd.channel, error: err }));
    ch.bind('pusher:member_added', (m) => out({ type: 'member_added', channel: cmd.channel, member: m }));
    ch.bind('pusher:member_removed', (m) => out({ type: 'member_removed', channel: cmd.channel, member: m }));
    ch.bind_global((event, data) => {
      if (event.startsWith('pusher:') || event.startsWith('pusher_internal:')) return;
      out({ type: 'event', channel: cmd.channel, event, data });
    });
  },
  unsubscribe(cmd) { pusher.unsubscribe(cmd.channel); out({ type: 'unsubscribed', channel: cmd.channel }); },
  trigger(cmd) { out({ type: 'triggered', ok: pusher.channel(cmd.channel).trigger(cmd.event, cmd.data), channel: cmd.channel }); },
  signin() {
    pusher.user.bind_global((event, data) => out({ type: 'user_event', event, data }));
    pusher.signin();
    pusher.user.signinDonePromise.then(() => out({ type: 'signed_in', user: pusher.user.user_data ?? null }));
  },
  send_raw(cmd) { pusher.connection.send(cmd.text); },
  disconnect() { (echo ?? pusher).disconnect(); },
  connect() { pusher.connect(); },
  // Laravel Echo flavours
  echo_listen(cmd) {
    const ch = cmd.kind === 'private' ? echo.private(cmd.name) : cmd.kind === 'presence' ? echo.join(cmd.name) : echo.channel(cmd.name);
    ch.listen(cmd.event, (data) => out({ type: 'echo_event', name: cmd.name, event: cmd.event, data }));
    if (ch.subscribed) ch.subscribed(() => out({ type: 'echo_subscribed', name: cmd.name }));
    if (ch.error) ch.error((e) => out({ type: 'echo_error', name: cmd.name, error: e }));
  },
  echo_join(cmd) {
    echo.join(cmd.name)
      .here((members) => out({ type: 'here', name: cmd.name, members }))
      .joining((m) => out({ type: 'joining', name: cmd.name, member: m }))
      .leaving((m) => out({ type: 'leaving', name: cmd.name, member: m }))
      .error((e) => out({ type: 'echo_error', name: cmd.name, error: e }));
  },
  echo_listen_whisper(cmd) {
    const ch = cmd.kind === 'presence' ? echo.join(cmd.name) : echo.private(cmd.name);
    ch.listenForWhisper(cmd.event, (data) => out({ type: 'whisper', name: cmd.name, event: cmd.event, data }));
    ch.subscribed?.(() => out({ type: 'echo_subscribed', name: cmd.name }));
  },
  echo_whisper(cmd) {
    const ch = cmd.kind === 'presence' ? echo.join(cmd.name) : echo.private(cmd.name);
    ch.whisper(cmd.event, cmd.data);
    out({ type: 'whispered', name: cmd.name });
  },
  echo_leave(cmd) { echo.leave(cmd.name); out({ type: 'left', name: cmd.name }); },
  auth_response(cmd) {
    const p = pendingAuth.get(cmd.id);
    if (!p) return;
    pendingAuth.delete(cmd.id);
    if (cmd.error) p.reject(new Error(cmd.error)); else p.resolve(cmd.body);
  },
  exit() { try { (echo ?? pusher)?.disconnect(); } catch (e) {} setTimeout(() => process.exit(0), 50); },
};

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (!line.trim()) return;
  let cmd;
  try { cmd = JSON.parse(line); } catch (e) { out({ type: 'driver_error', error: 'bad json: ' + line }); return; }
  const fn = commands[cmd.cmd];
  if (!fn) { out({ type: 'driver_error', error: 'unknown cmd ' + cmd.cmd }); return; }
  try { fn(cmd); } catch (e) { out({ type: 'driver_error', error: String(e && e.stack || e) }); }
});
rl.on('close', () => process.exit(0));
out({ type: 'ready' });
