// One load agent: raw WebSocket clients and HTTP triggers, driven over stdin/stdout.
//
// The Python harness (bench/agents.py) starts several of these, pinned away from the
// server, and sends one JSON command per line; every command gets one JSON reply line
// carrying the same `id`. Clients speak just enough of each server's protocol to
// subscribe and answer pings (Pusher v7, Engine.IO 4 / Socket.IO 5, bare rooms), so the
// agent stays cheap. Latency is measured from a timestamp written into every payload as
// `ts:<ms>;` (performance.timeOrigin + performance.now(), comparable across processes on
// one machine) to the moment the frame is read here.
import net from 'node:net';
import crypto from 'node:crypto';
import readline from 'node:readline';
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import { EventEmitter } from 'node:events';

const now = () => performance.timeOrigin + performance.now();
const PAD = 'x'.repeat(80);
const payload = (t) => `ts:${t.toFixed(3)};${PAD}`;
const WS_OPTS = { perMessageDeflate: false, skipUTF8Validation: true, maxPayload: 1 << 20 };

// Latency histogram: 10 us buckets below 50 ms, 1 ms buckets above; merged in Python.
class Hist {
  constructor() { this.fine = new Uint32Array(5000); this.coarse = new Map(); this.n = 0; }
  add(ms) {
    if (ms < 0) ms = 0;
    if (ms < 50) this.fine[(ms * 100) | 0]++;
    else { const k = Math.round(ms); this.coarse.set(k, (this.coarse.get(k) || 0) + 1); }
    this.n++;
  }
  dump() {
    const out = [];
    for (let i = 0; i < 5000; i++) if (this.fine[i]) out.push([i / 100 + 0.005, this.fine[i]]);
    for (const [k, v] of this.coarse) out.push([k, v]);
    return out;
  }
}

// -- measurement state (reset between steps) ---------------------------------------------
let hist = new Hist();
let received = 0, firstAt = 0, lastAt = 0, cpuMark = process.cpuUsage(), wallMark = now();
let conns = [], senders = [], unexpectedCloses = 0, errors = [];

function reset() {
  hist = new Hist(); received = 0; firstAt = 0; lastAt = 0; samples = [];
  cpuMark = process.cpuUsage(); wallMark = now();
}

function measured(s, role) {
  const i = s.indexOf('ts:');
  if (i < 0) return false;
  if (role === 'sender') return true; // a room server echoes to the sender: not a delivery
  if (role === 'steady') return measuredSteady(s);
  const t = +s.slice(i + 3, s.indexOf(';', i));
  const at = now();
  hist.add(at - t);
  received++;
  if (!firstAt) firstAt = at;
  lastAt = at;
  return true;
}

// Steady subscribers during a storm: every delivery as [arrival, latency], so the
// harness can take the percentiles of the storm window alone.
let samples = [];
function measuredSteady(s) {
  const i = s.indexOf('ts:');
  if (i < 0) return false;
  const at = now();
  samples.push([at, at - +s.slice(i + 3, s.indexOf(';', i))]);
  return true;
}

// A storm client counts what it got after its (re)subscribe: every message published
// later than subAt must arrive (the harness checks against the publisher's log).
function stormMessage(conn, s) {
  const i = s.indexOf('ts:');
  if (i < 0) return false;
  const ts = +s.slice(i + 3, s.indexOf(';', i));
  if (ts > conn.subAt) {
    conn.after++;
    if (!conn.firstAfter || ts < conn.firstAfter) conn.firstAfter = ts;
  } else conn.before++;
  return true;
}

function note(err) { if (errors.length < 20) errors.push(String(err && err.message || err)); }

// -- a bare WebSocket client --------------------------------------------------------------
// The subscriber side reads one frame per delivery. This client does the handshake and
// reads frames straight off the socket (servers send small unmasked frames), answers
// WebSocket pings and closes, and masks what it sends, as RFC 6455 requires of clients.
// It has the subset of the `ws` API used here: 'open' / 'message' / 'error' / 'close',
// send, close, terminate, readyState. BENCH_WS_CLIENT=ws switches back to the package.
const OPEN = 1;

class BareWebSocket extends EventEmitter {
  constructor(url, localAddress) {
    super();
    const u = new URL(url);
    this.readyState = 0;
    this.buf = null;
    this.fragments = null;
    this.sock = net.connect({ port: +u.port || 80, host: u.hostname, localAddress });
    this.sock.setNoDelay(true);
    this.sock.on('connect', () => {
      const key = crypto.randomBytes(16).toString('base64');
      this.sock.write(`GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\n`
        + `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    this.sock.on('data', (chunk) => this.onData(chunk));
    this.sock.on('error', (e) => this.emit('error', e));
    this.sock.on('close', () => { this.readyState = 3; this.emit('close'); });
  }

  onData(chunk) {
    let buf = this.buf ? Buffer.concat([this.buf, chunk]) : chunk;
    if (this.readyState === 0) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) { this.buf = buf; return; }
      const head = buf.toString('latin1', 0, end);
      if (!head.startsWith('HTTP/1.1 101')) {
        this.buf = null;
        this.emit('error', new Error(`handshake refused: ${head.split('\r\n')[0]}`));
        this.sock.destroy();
        return;
      }
      this.readyState = OPEN;
      buf = buf.subarray(end + 4);
      this.emit('open');
    }
    let off = 0;
    while (buf.length - off >= 2) {
      const b0 = buf[off];
      let len = buf[off + 1] & 0x7f;
      let head = 2;
      if (len === 126) { if (buf.length - off < 4) break; len = buf.readUInt16BE(off + 2); head = 4; }
      else if (len === 127) { if (buf.length - off < 10) break; len = Number(buf.readBigUInt64BE(off + 2)); head = 10; }
      if (buf.length - off < head + len) break;
      const payload = buf.subarray(off + head, off + head + len);
      off += head + len;
      this.onFrame(b0 & 0x80, b0 & 0x0f, payload);
      if (this.readyState !== OPEN) return;
    }
    this.buf = off < buf.length ? Buffer.from(buf.subarray(off)) : null;
  }

  onFrame(fin, opcode, payload) {
    if (opcode === 1 || opcode === 2) {
      if (fin) this.emit('message', payload);
      else this.fragments = [Buffer.from(payload)];
    } else if (opcode === 0 && this.fragments) {
      this.fragments.push(Buffer.from(payload));
      if (fin) { const whole = Buffer.concat(this.fragments); this.fragments = null; this.emit('message', whole); }
    } else if (opcode === 9) this.frame(0xa, payload);
    else if (opcode === 8) {
      this.frame(0x8, payload.subarray(0, 2));
      this.readyState = 2;
      this.sock.end();
    }
  }

  frame(opcode, data) {
    const payload = typeof data === 'string' ? Buffer.from(data) : data;
    const len = payload.length;
    const head = len < 126 ? 6 : len < 65536 ? 8 : 14;
    const out = Buffer.allocUnsafe(head + len);
    out[0] = 0x80 | opcode;
    if (len < 126) out[1] = 0x80 | len;
    else if (len < 65536) { out[1] = 0x80 | 126; out.writeUInt16BE(len, 2); }
    else { out[1] = 0x80 | 127; out.writeBigUInt64BE(BigInt(len), 2); }
    crypto.randomFillSync(out, head - 4, 4);
    for (let i = 0; i < len; i++) out[head + i] = payload[i] ^ out[head - 4 + (i & 3)];
    this.sock.write(out);
  }

  send(text) { if (this.readyState === OPEN) this.frame(0x1, text); }

  close() {
    if (this.readyState !== OPEN) { this.sock.destroy(); return; }
    this.frame(0x8, Buffer.from([0x03, 0xe8]));
    this.readyState = 2;
    this.sock.end();
  }

  terminate() { this.readyState = 3; this.sock.destroy(); }
}

const openSocket = process.env.BENCH_WS_CLIENT === 'ws'
  ? (url, localAddress) => new WebSocket(url, { ...WS_OPTS, localAddress })
  : (url, localAddress) => new BareWebSocket(url, localAddress);

// Many sockets to one server port: spread them over loopback sources 127.0.0.1..N so
// each source address has its own ephemeral ports (a storm reconnects every client
// while the previous connections still sit in TIME_WAIT).
let nextSource = 0;
function sourceAddress(spec) {
  if (!spec.sources) return undefined;
  return `127.0.0.${1 + (nextSource++ % spec.sources)}`;
}

// -- protocol adapters -------------------------------------------------------------------
// one-shot hashing where Node has it (20.12+): no Hash object per request
const md5hex = crypto.hash ? (text) => crypto.hash('md5', text, 'hex')
  : (text) => crypto.createHash('md5').update(text).digest('hex');
function sign(secret, text) { return crypto.createHmac('sha256', secret).update(text).digest('hex'); }

function openClient(spec, channel, role) {
  return new Promise((resolve, reject) => {
    let url;
    if (spec.proto === 'pusher') url = `${spec.url}/app/${spec.key}?protocol=7&client=js&version=8.4.0&flash=false`;
    else if (spec.proto === 'socketio') url = `${spec.url}/socket.io/?EIO=4&transport=websocket`;
    else url = `${spec.url}/?room=${encodeURIComponent(channel)}`;
    const ws = openSocket(url, sourceAddress(spec));
    const conn = { ws, channel, role, ready: false, subAt: 0, after: 0, before: 0, firstAfter: 0, closedAt: 0 };
    const timer = setTimeout(() => { ws.terminate(); reject(new Error(`subscribe timeout on ${channel}`)); }, 30000);
    const ready = () => { if (!conn.ready) { conn.ready = true; clearTimeout(timer); resolve(conn); } };
    ws.on('error', (e) => { clearTimeout(timer); if (!conn.ready) reject(e); else note(e); });
    ws.on('close', () => { if (conn.ready && !conn.closing) { unexpectedCloses++; conn.closedAt = now(); } });
    if (spec.proto === 'room') ws.on('open', ready);
    ws.on('message', (data) => {
      const s = data.toString('latin1');
      if (role === 'storm') { if (stormMessage(conn, s)) return; } else if (measured(s, role)) return;
      if (spec.proto === 'pusher') pusherControl(spec, conn, s, ready, reject);
      else if (spec.proto === 'socketio') socketioControl(conn, s, ready);
    });
  });
}

function pusherControl(spec, conn, s, ready, reject) {
  const m = JSON.parse(s);
  if (m.event === 'pusher:ping') conn.ws.send('{"event":"pusher:pong","data":{}}');
  else if (m.event === 'pusher:connection_established') {
    conn.socketId = JSON.parse(m.data).socket_id;
    const data = { channel: conn.channel };
    if (conn.channel.startsWith('presence-')) {
      data.channel_data = JSON.stringify({ user_id: conn.socketId, user_info: { name: conn.socketId } });
      data.auth = `${spec.key}:${sign(spec.secret, `${conn.socketId}:${conn.channel}:${data.channel_data}`)}`;
    } else if (conn.channel.startsWith('private-')) data.auth = `${spec.key}:${sign(spec.secret, `${conn.socketId}:${conn.channel}`)}`;
    conn.ws.send(JSON.stringify({ event: 'pusher:subscribe', data }));
  } else if (m.event === 'pusher_internal:subscription_succeeded') { conn.subAt = now(); ready(); }
  else if (m.event === 'pusher:error' || m.event === 'pusher:subscription_error') {
    note(s); if (!conn.ready) reject(new Error(s));
  }
}

function socketioControl(conn, s, ready) {
  if (s === '2') conn.ws.send('3');
  else if (s[0] === '0') conn.ws.send('40');
  else if (s.startsWith('40')) conn.ws.send(`420["join",${JSON.stringify({ room: conn.channel })}]`);
  else if (s.startsWith('430')) ready();
}

function clientMessage(proto, channel, t) {
  const data = payload(t);
  if (proto === 'pusher') return JSON.stringify({ event: 'client-bench', channel, data });
  if (proto === 'socketio') return `42${JSON.stringify(['publish', { room: channel, event: 'bench', data }])}`;
  return JSON.stringify({ room: channel, data });
}

async function pool(items, concurrency, fn) {
  let next = 0, ok = 0, failed = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      try { await fn(item); ok++; } catch (e) { failed++; note(e); }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return { ok, failed };
}

// -- commands ----------------------------------------------------------------------------
async function connect(cmd) {
  const t0 = now(), before = conns.length;
  const spec = cmd.target;
  const pairs = cmd.mode === 'pairs';
  const res = await pool(cmd.channels, cmd.concurrency || 100, async (channel) => {
    if (pairs) {
      const a = await openClient(spec, channel, 'sender');
      const b = await openClient(spec, channel, 'receiver');
      conns.push(a, b); senders.push(a);
    } else {
      const c = await openClient(spec, channel, ROLES[cmd.mode] || 'receiver');
      conns.push(c);
      if (c.role === 'storm') stormConns.push(c);
    }
  });
  return { connected: conns.length - before, failed: res.failed, seconds: (now() - t0) / 1000, errors };
}

// -- reconnect storm ---------------------------------------------------------------------
const ROLES = { subscribers: 'receiver', storm: 'storm', steady: 'steady' };
let stormConns = [];
const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

// The server is about to restart: its closes of the storm clients are expected.
function expectClose() {
  for (const c of stormConns) c.closing = true;
  conns = conns.filter((c) => c.role !== 'storm');
  return { expecting: stormConns.length };
}

// Every storm client reconnects and resubscribes at once (no concurrency limit); one
// that fails tries again after 100-200 ms, as a client library's retry would.
async function storm(cmd) {
  const channels = stormConns.map((c) => c.channel);
  stormConns = [];
  errors = []; // the restart's 4200s are expected: report the storm's own failures
  const t0 = now(), deadline = t0 + (cmd.seconds || 60) * 1000;
  let retries = 0, failed = 0;
  const times = [];
  const reconnect = async (channel) => {
    for (;;) {
      try {
        const c = await openClient(cmd.target, channel, 'storm');
        conns.push(c); stormConns.push(c);
        times.push(c.subAt - t0);
        return;
      } catch (e) {
        note(e);
        if (now() > deadline) { failed++; return; }
        retries++;
        await sleep(100 + Math.random() * 100);
      }
    }
  };
  // Started 200 at a time with a turn of the event loop between, so handshakes that
  // complete are read while the rest are still being opened.
  const all = [];
  for (let i = 0; i < channels.length; i += 200) {
    for (const channel of channels.slice(i, i + 200)) all.push(reconnect(channel));
    await new Promise((res) => setImmediate(res));
  }
  await Promise.all(all);
  times.sort((a, b) => a - b);
  return { back: times.length, failed, retries, startedAt: t0, times, errors };
}

// What each storm client got, and every steady delivery (see stormMessage, measuredSteady).
// Per client also the earliest message it got after its subscribe and when its socket closed
// unexpectedly (0: never), so the harness can tell where a lost message fell.
function stormReport() {
  return {
    clients: stormConns.map((c) => [c.channel, c.subAt, c.after, c.before, c.firstAfter, c.closedAt]),
    samples,
  };
}

// Open-loop publishing on several streams at once ({channels, rate} each, channels in
// turn); the answer lists, per channel, the scheduled timestamp of every accepted message.
async function publish(cmd) {
  const src = sourceFor(cmd);
  await src.opened;
  const accepted = {};
  const statuses = {};
  let pending = 0;
  await Promise.all(cmd.streams.map((stream) => {
    const pick = channelPicker(stream.channels, 1);
    return openLoop(stream.rate, cmd.seconds, (t) => {
      const channels = pick();
      pending++;
      src.fire(t, channels, (status) => {
        pending--;
        statuses[status] = (statuses[status] || 0) + 1;
        if (status === 200) (accepted[channels[0]] ||= []).push(t);
      });
    });
  }));
  const deadline = now() + 15000;
  while (pending && now() < deadline) await sleep(5);
  return { accepted, statuses, unanswered: pending };
}

function openLoop(rate, seconds, fire) {
  return new Promise((resolve) => {
    const total = Math.max(1, Math.round(rate * seconds));
    const gap = 1000 / rate;
    const t0 = now();
    let i = 0;
    const tick = () => {
      const due = Math.min(total, Math.floor((now() - t0) / gap) + 1);
      for (; i < due; i++) fire(t0 + i * gap, i);
      if (i >= total) return resolve({ scheduled: total, t0, seconds: (now() - t0) / 1000 });
      setTimeout(tick, Math.max(0, t0 + i * gap - now()));
    };
    tick();
  });
}

async function send(cmd) {
  const spec = cmd.target;
  let sent = 0;
  const r = await openLoop(cmd.rate, cmd.seconds, (t, i) => {
    const s = senders[i % senders.length];
    if (s.ws.readyState === OPEN) { s.ws.send(clientMessage(spec.proto, s.channel, t)); sent++; }
  });
  return { sent, ...r };
}

// A trigger source: fire(t, channels, done(status)) for one request or publish.
// A bare HTTP/1.1 keep-alive client: `limit` sockets, one request in flight on each.
// Node's http.Agent costs several times the CPU per request of the servers' fastest
// trigger paths, which made one load core, not the server, the limit; this writes the
// request as one string and reads just the status line and content-length.
class RawHttpPool {
  constructor(host, port, limit) {
    this.host = host; this.port = port; this.limit = limit;
    this.idle = []; this.open = 0; this.waiting = []; this.all = new Set();
  }

  post(path, body, done) {
    const msg = `POST ${path} HTTP/1.1\r\nhost: ${this.host}:${this.port}\r\n`
      + `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    const conn = this.idle.pop() || (this.open < this.limit ? this.connect() : null);
    if (conn) this.send(conn, msg, done); else this.waiting.push([msg, done]);
  }

  connect() {
    this.open++;
    const sock = net.connect(this.port, this.host);
    sock.setNoDelay(true);
    const conn = { sock, buf: null, done: null };
    this.all.add(conn);
    sock.on('data', (chunk) => this.read(conn, chunk));
    sock.on('error', (e) => note(e));
    sock.on('close', () => {
      this.open--; this.all.delete(conn);
      const i = this.idle.indexOf(conn);
      if (i >= 0) this.idle.splice(i, 1);
      if (conn.done) { const d = conn.done; conn.done = null; d(0); }
      if (this.waiting.length && this.open < this.limit) {
        const [msg, d] = this.waiting.shift();
        this.send(this.connect(), msg, d);
      }
    });
    return conn;
  }

  send(conn, msg, done) {
    conn.done = done;
    conn.sock.write(msg);
  }

  read(conn, chunk) {
    conn.buf = conn.buf ? Buffer.concat([conn.buf, chunk]) : chunk;
    const end = conn.buf.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = conn.buf.toString('latin1', 0, end).toLowerCase();
    const at = head.indexOf('content-length:');
    let total = end + 4 + (at >= 0 ? parseInt(head.slice(at + 15, head.indexOf('\r\n', at) >>> 0), 10) : 0);
    if (at < 0 && head.includes('transfer-encoding: chunked')) {
      const last = conn.buf.indexOf('\r\n0\r\n\r\n', end);
      if (last < 0) return;
      total = last + 7;
    }
    if (conn.buf.length < total) return;
    const status = +head.slice(9, 12);
    conn.buf = conn.buf.length > total ? conn.buf.subarray(total) : null;
    const done = conn.done; conn.done = null;
    if (head.includes('\r\nconnection: close')) conn.sock.destroy();
    else if (this.waiting.length) { const [msg, d] = this.waiting.shift(); this.send(conn, msg, d); }
    else this.idle.push(conn);
    if (done) done(status);
  }

  close() {
    for (const conn of this.all) conn.sock.destroy();
    this.all.clear(); this.idle = []; this.waiting = [];
  }
}

function triggerSource(cmd) {
  const spec = cmd.target;
  if (spec.trigger === 'room-ws') {
    const ws = openSocket(`${spec.url}/?room=__publisher__`);
    const opened = new Promise((res, rej) => { ws.on('open', res); ws.on('error', rej); });
    return {
      opened,
      fire(t, channels, done) { ws.send(JSON.stringify({ room: channels[0], data: payload(t) })); done(200); },
      close() { ws.close(); },
    };
  }
  const u = new URL(spec.http);
  const pool = new RawHttpPool(u.hostname, +u.port, cmd.concurrency || 8);
  const request = (path, body, done) => pool.post(path, body, done);
  let fire;
  if (spec.trigger === 'pusher-http') {
    const path = `/apps/${spec.appId}/events`;
    fire = (t, channels, done) => {
      const body = JSON.stringify(channels.length === 1
        ? { name: 'bench', channel: channels[0], data: payload(t) }
        : { name: 'bench', channels, data: payload(t) });
      const md5 = md5hex(body);
      const q = `auth_key=${spec.key}&auth_timestamp=${Math.floor(Date.now() / 1000)}&auth_version=1.0&body_md5=${md5}`;
      request(`${path}?${q}&auth_signature=${sign(spec.secret, `POST\n${path}\n${q}`)}`, body, done);
    };
  } else if (spec.trigger === 'socketio-http') {
    fire = (t, channels, done) => request('/broadcast', JSON.stringify({ room: channels[0], event: 'bench', data: payload(t) }), done);
  } else if (spec.trigger === 'room-http') {
    fire = (t, channels, done) => request(`/broadcast?room=${encodeURIComponent(channels[0])}`, payload(t), done);
  } else throw new Error(`unknown trigger ${spec.trigger}`);
  return { opened: Promise.resolve(), fire, close() { pool.close(); } };
}

function channelPicker(channels, per) {
  let k = 0;
  return () => {
    const out = [];
    for (let j = 0; j < per; j++) out.push(channels[k++ % channels.length]);
    return out;
  };
}

// Trigger sources stay open across steps (until `close`), so a step's first requests
// do not pay for new TCP and HTTP connections.
const sources = new Map();
function sourceFor(cmd) {
  const key = JSON.stringify([cmd.target, cmd.concurrency || 8]);
  if (!sources.has(key)) sources.set(key, triggerSource(cmd));
  return sources.get(key);
}

// Open loop at `rate` requests/s: a request that cannot go out (all `concurrency`
// connections busy) waits with its scheduled timestamp, so queueing counts as latency.
async function trigger(cmd) {
  const src = sourceFor(cmd);
  await src.opened;
  const pick = channelPicker(cmd.channels, cmd.channelsPerRequest || 1);
  const limit = cmd.concurrency || 8;
  const statuses = {};
  const queue = [];
  let inflight = 0, finished = 0;
  const go = (t) => {
    inflight++;
    src.fire(t, pick(), (status) => {
      statuses[status] = (statuses[status] || 0) + 1;
      inflight--; finished++;
      if (queue.length) go(queue.shift());
    });
  };
  const r = await openLoop(cmd.rate, cmd.seconds, (t) => { if (inflight < limit) go(t); else queue.push(t); });
  const deadline = now() + 15000;
  while ((inflight || queue.length) && now() < deadline) await new Promise((res) => setTimeout(res, 5));
  return { ...r, finished, statuses, backlog: queue.length, sentSeconds: r.seconds };
}

// Closed loop: `concurrency` keep-alive connections, each sending its next request as
// soon as the previous one is answered, for `seconds`.
async function hammer(cmd) {
  const src = triggerSource(cmd);
  await src.opened;
  const pick = channelPicker(cmd.channels, cmd.channelsPerRequest || 1);
  const h = new Hist();
  const statuses = {};
  const t0 = now(), end = t0 + cmd.seconds * 1000;
  let done = 0;
  const lane = () => new Promise((resolve) => {
    const one = () => {
      const t = now();
      if (t >= end) return resolve();
      src.fire(t, pick(), (status) => {
        h.add(now() - t); done++;
        statuses[status] = (statuses[status] || 0) + 1;
        one();
      });
    };
    one();
  });
  await Promise.all(Array.from({ length: cmd.concurrency || 8 }, lane));
  src.close();
  return { requests: done, seconds: (now() - t0) / 1000, statuses, hist: h.dump() };
}

function stats() {
  const cpu = process.cpuUsage(cpuMark);
  const open = conns.filter((c) => c.ws.readyState === OPEN).length;
  return {
    received, firstAt, lastAt, hist: hist.dump(), open, unexpectedCloses,
    cpuSeconds: (cpu.user + cpu.system) / 1e6, wallSeconds: (now() - wallMark) / 1000, errors,
  };
}

function closeAll() {
  for (const src of sources.values()) src.close();
  sources.clear();
  for (const c of conns) { c.closing = true; c.ws.terminate(); }
  const n = conns.length;
  for (const c of stormConns) { c.closing = true; c.ws.terminate(); }
  conns = []; senders = []; stormConns = []; samples = []; unexpectedCloses = 0;
  return { closed: n };
}

const handlers = {
  connect, send, trigger, hammer, stats, storm, publish,
  expectClose: async () => expectClose(),
  stormReport: async () => stormReport(),
  reset: async () => { reset(); return {}; },
  close: async () => closeAll(),
  count: async () => ({ received }),
  now: async () => ({ now: now() }),
};

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', async (line) => {
  const cmd = JSON.parse(line);
  try {
    const out = await handlers[cmd.cmd](cmd);
    process.stdout.write(JSON.stringify({ id: cmd.id, ok: true, ...out }) + '\n');
  } catch (e) {
    process.stdout.write(JSON.stringify({ id: cmd.id, ok: false, error: String(e && e.stack || e) }) + '\n');
  }
});
rl.on('close', () => { closeAll(); process.exit(0); });
