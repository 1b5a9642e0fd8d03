// What a started chat needs and the launcher does not: one chunk, imported by Widget.connect().
// 'pusher-js' is bundled into it by build.mjs (the worker build), so the host page's own
// window.Pusher, if any, is never touched.
import Pusher from 'pusher-js';
import { Realtime } from '../shared/realtime.js';

export { Conversation } from '../shared/conversation.js';

/** The connection for /api/config's "echo" block (null when the server has no realtime configured). */
export async function connectRealtime(api, config) {
  if (!config.echo || !config.echo.key) return null;
  return new Realtime({ Pusher, config: config.echo, api });
}
