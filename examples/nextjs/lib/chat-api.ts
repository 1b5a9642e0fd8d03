// A small client for chatapp's JSON API (docs/chatapp.md): the visitor routes under /api/chat,
// support's under /api/admin/chat. Cross-origin: chatapp lists this site in CHATAPP_CORS_ORIGINS.

export type ChatUser = { id: number; name: string; role: 'guest' | 'user' | 'admin'; email?: string | null };

export type ChatMessage = {
  id: number;
  room_id: number;
  user_id: number | null;
  sender_role: 'user' | 'admin' | 'system';
  sender_name: string | null;
  body: string;
  created_at: string;
  read_at: string | null;
};

export type ChatRoom = {
  id: number;
  status: 'open' | 'assigned' | 'resolved' | 'closed';
  priority: 'normal' | 'urgent';
  subject: string | null;
  assigned_admin: { id: number; name: string } | null;
  last_message_at: string | null;
  last_message_preview: string | null;
  unread_count: number;
  user?: { id: number; name: string; email: string | null };
};

export type ChatStats = {
  open: number;
  assigned: number;
  unassigned: number;
  urgent: number;
  unread_messages: number;
  unread_chats: number;
};

export type Session = { token: string; user: ChatUser };

export class ChatApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

type Options = { token?: string | null; body?: unknown; socketId?: string };

export function chatApi(baseUrl: string) {
  async function call<T>(method: string, path: string, { token, body, socketId }: Options = {}): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (socketId) headers['X-Socket-ID'] = socketId;
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const doc = await response.json().catch(() => ({}));
    if (!response.ok) throw new ChatApiError(response.status, doc.error ?? 'http_error', doc.message ?? response.statusText);
    return doc as T;
  }
  return {
    guest: (name: string) => call<Session>('POST', '/api/auth/guest', { body: { name } }),
    /** The site's signed identity for a chat token; a guest token moves the guest's chats along. */
    identity: (identity: string, guestToken?: string | null) =>
      call<Session>('POST', '/api/auth/identity', { token: guestToken, body: { identity } }),
    login: (email: string, password: string) => call<Session>('POST', '/api/auth/login', { body: { email, password } }),
    me: (token: string) => call<{ user: ChatUser }>('GET', '/api/auth/me', { token }),
    logout: (token: string) => call<{ revoked: number }>('POST', '/api/auth/logout', { token }),

    room: (token: string) => call<{ room: ChatRoom | null }>('GET', '/api/chat/room', { token }),
    history: (token: string, roomId: number, after?: number) =>
      call<{ data: ChatMessage[] }>('GET', `/api/chat/rooms/${roomId}/messages${after ? `?after=${after}` : ''}`, { token }),
    send: (token: string, body: string, idempotencyKey: string, socketId?: string) =>
      call<{ message: ChatMessage; room: ChatRoom }>('POST', '/api/chat/messages', {
        token, socketId, body: { body, idempotency_key: idempotencyKey },
      }),
    typing: (token: string, roomId: number, isTyping: boolean, socketId?: string) =>
      call('POST', `/api/chat/rooms/${roomId}/typing`, { token, socketId, body: { is_typing: isTyping } }),
    read: (token: string, roomId: number) => call('POST', `/api/chat/rooms/${roomId}/read`, { token }),
    unread: (token: string) => call<{ unread_count: number }>('GET', '/api/chat/unread', { token }),

    admin: {
      rooms: (token: string, filter: string) =>
        call<{ data: ChatRoom[] }>('GET', `/api/admin/chat/rooms?filter=${encodeURIComponent(filter)}&per_page=50`, { token }),
      room: (token: string, id: number) =>
        call<{ room: ChatRoom; messages: { data: ChatMessage[] } }>('GET', `/api/admin/chat/rooms/${id}`, { token }),
      history: (token: string, id: number, after: number) =>
        call<{ data: ChatMessage[] }>('GET', `/api/admin/chat/rooms/${id}/messages?after=${after}`, { token }),
      reply: (token: string, id: number, body: string, idempotencyKey: string, socketId?: string) =>
        call<{ message: ChatMessage }>('POST', `/api/admin/chat/rooms/${id}/messages`, {
          token, socketId, body: { body, idempotency_key: idempotencyKey },
        }),
      action: (token: string, id: number, action: 'assign' | 'resolve' | 'close' | 'read') =>
        call<{ room?: ChatRoom }>('POST', `/api/admin/chat/rooms/${id}/${action}`, { token, body: {} }),
      typing: (token: string, id: number, isTyping: boolean, socketId?: string) =>
        call('POST', `/api/admin/chat/rooms/${id}/typing`, { token, socketId, body: { is_typing: isTyping } }),
      stats: (token: string) => call<{ stats: ChatStats }>('GET', '/api/admin/chat/stats', { token }),
    },
  };
}

export type ChatApi = ReturnType<typeof chatApi>;

/** Appends messages not yet shown (an event and the sender's own answer may both arrive). */
export function mergeMessages(shown: ChatMessage[], incoming: ChatMessage[]): ChatMessage[] {
  const known = new Set(shown.map((m) => m.id));
  const fresh = incoming.filter((m) => !known.has(m.id));
  return fresh.length ? [...shown, ...fresh].sort((a, b) => a.id - b.id) : shown;
}
