// A Laravel Echo client configured the way the chat widget and admin panel are:
// broadcaster 'reverb', and channel auth through chatapp's real /broadcasting/auth
// (form-encoded socket_id + channel_name, `Authorization: Bearer <token>`).
// Reads JSON commands on stdin, writes JSON events on stdout (one per line).
import readline from 'node:readline';
import Pusher from 'pusher-js';
import EchoModule from 'laravel-echo';

const Echo = EchoModule.default ?? EchoModule;
const out = (doc) => process.stdout.write(JSON.stringify(doc) + '\n');
let echo = null;

const commands = {
  echo(cmd) {
    echo = new Echo({
      broadcaster: 'reverb',
      key: cmd.key,
      Pusher,
      wsHost: '127.0.0.1',
      wsPort: cmd.port,
      wssPort: cmd.port,
      forceTLS: false,
      enabledTransports: ['ws', 'wss'],
      disableStats: true,
      authEndpoint: cmd.authEndpoint,
      auth: { headers: { Authorization: `Bearer ${cmd.token}`, Accept: 'application/json' } },
      // As the widget and the panel do: the socket is signed in as the account (pusher:signin).
      userAuthentication: cmd.userAuthEndpoint
        ? { endpoint: cmd.userAuthEndpoint, headers: { Authorization: `Bearer ${cmd.token}`, Accept: 'application/json' } }
        : undefined,
    });
    const p = echo.connector.pusher;
    if (cmd.userAuthEndpoint) {
      p.connection.bind('message', (m) => { if (m.event === 'pusher:signin_success') out({ type: 'signed_in' }); });
      p.signin();
    }
    p.connection.bind('state_change', (s) => out({ type: 'state', current: s.current, socket_id: p.connection.socket_id ?? null }));
    p.connection.bind('error', (e) => out({ type: 'connection_error', code: e?.data?.code ?? e?.error?.data?.code ?? null }));
  },
  listen(cmd) {
    const ch = cmd.kind === 'presence' ? echo.join(cmd.name) : echo.private(cmd.name);
    for (const event of cmd.events) {
      ch.listen(event, (data) => out({ type: 'echo_event', name: cmd.name, event, data }));
    }
    ch.subscribed(() => out({ type: 'echo_subscribed', name: cmd.name }));
    ch.error((e) => out({ type: 'echo_error', name: cmd.name, status: e?.status ?? null, error: String(e?.error ?? e?.type ?? e) }));
    if (cmd.kind === 'presence') {
      ch.here((members) => out({ type: 'here', name: cmd.name, members }))
        .joining((m) => out({ type: 'joining', name: cmd.name, member: m }))
        .leaving((m) => out({ type: 'leaving', name: cmd.name, member: m }));
    }
  },
  leave(cmd) { echo.leave(cmd.name); out({ type: 'left', name: cmd.name }); },
  socket_id() { out({ type: 'socket_id', socket_id: echo.socketId() ?? null }); },
  exit() { try { echo?.disconnect(); } catch (e) {} setTimeout(() => process.exit(0), 50); },
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
