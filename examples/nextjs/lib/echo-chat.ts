// The seed's Echo client (lib/echo-chat.ts), with the two lines a cross-origin chat API needs:
// private channels are authorised at chatapp's /broadcasting/auth with the chat token.
import Echo from 'laravel-echo';
import Pusher from 'pusher-js';
import type { ChatConfig } from '@/lib/chat-config';

declare global {
  interface Window {
    Pusher: typeof Pusher;
  }
}

export type ChatEcho = Echo<'reverb'>;

export function createEcho(config: ChatConfig, token: string): ChatEcho {
  window.Pusher = Pusher;
  const { key, host, port, scheme } = config.reverb;
  return new Echo({
    broadcaster: 'reverb',
    key,
    wsHost: host,
    wsPort: port ?? 80,
    wssPort: port ?? 443,
    forceTLS: (scheme ?? 'https') === 'https',
    enabledTransports: ['ws', 'wss'],
    authEndpoint: `${config.apiUrl}/broadcasting/auth`,
    auth: { headers: { Authorization: `Bearer ${token}` } },
  });
}

/** Echo's socket id, sent as X-Socket-ID so this connection does not get its own events back. */
export function socketId(echo: ChatEcho | null): string | undefined {
  return echo?.socketId() || undefined;
}
