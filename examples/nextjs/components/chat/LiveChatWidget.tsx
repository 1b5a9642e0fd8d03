'use client';

// The seed's LiveChatWidget: a floating chat button on every page. It speaks chatapp's
// /api/chat/* and listens with Laravel Echo on the private channel chat.{room_id}
// (.message.sent, .user.typing) and user.{id} (.unread.updated).
import { usePathname } from 'next/navigation';
import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { useChatConfig } from '@/components/chat/ChatConfigProvider';
import { chatApi, mergeMessages, type ChatMessage, type ChatRoom } from '@/lib/chat-api';
import { idempotencyKey, visitorSessions, type StoredSession } from '@/lib/chat-session';
import { socketId } from '@/lib/echo-chat';
import { useEcho, useOnReconnect } from '@/lib/use-echo';
import { useTypingSender } from '@/lib/use-typing';

const TEXT = {
  open: 'Open chat',
  close: 'Close chat',
  hide: 'Hide chat',
  title: 'Support',
  guestName: 'Visitor',
  empty: 'Ask us anything: we usually answer within minutes.',
  message: 'Message',
  placeholder: 'Type a message…',
  send: 'Send',
  typing: 'Support is typing…',
  you: 'You',
  failed: 'Could not reach the chat. Please try again.',
};

type TypingEvent = { user_id: number; is_typing: boolean };

type Props = {
  /** The signed-in site user (id and name only; the signed token comes from /api/chat-identity), or null. */
  siteUser?: { id: string; name: string } | null;
  /** The seed's "only for signed-in users" variant: no button for guests. */
  requireLogin?: boolean;
};

export default function LiveChatWidget({ siteUser = null, requireLogin = false }: Props) {
  const config = useChatConfig();
  const api = useMemo(() => chatApi(config.apiUrl), [config.apiUrl]);
  const [session, setSession] = useState<StoredSession | null>(null);
  const [isOpen, setIsOpen] = useState(false);
  const [room, setRoom] = useState<ChatRoom | null>(null);
  const [messages, setMessages] = useState<ChatMessage[]>([]);
  const [isTyping, setIsTyping] = useState(false);
  const [unread, setUnread] = useState(0);
  const [draft, setDraft] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [ready, setReady] = useState(false);
  const listRef = useRef<HTMLDivElement>(null);
  const echo = useEcho(config, session?.token ?? null);
  const token = session?.token ?? null;
  const siteUserId = siteUser?.id ?? null;
  const inAdminArea = usePathname().startsWith('/admin'); // support works in the panel, not the widget

  /** The chat session for whoever is on the site now: the stored one, a site identity, or a new guest. */
  const ensureSession = useCallback(async (createGuest: boolean): Promise<StoredSession | null> => {
    const stored = visitorSessions.load();
    if (stored && stored.siteUserId === siteUserId) return stored;
    let next: StoredSession | null = null;
    if (siteUserId) {
      const response = await fetch('/api/chat-identity', { cache: 'no-store' });
      if (!response.ok) throw new Error(`identity: ${response.status}`);
      const { identity } = (await response.json()) as { identity: string };
      const guestToken = stored && stored.siteUserId === null ? stored.token : null;
      next = { ...(await api.identity(identity, guestToken)), siteUserId };
    } else if (createGuest) {
      next = { ...(await api.guest(TEXT.guestName)), siteUserId: null };
    }
    if (stored?.siteUserId) api.logout(stored.token).catch(() => undefined); // that site user signed out
    if (next) visitorSessions.save(next);
    else visitorSessions.clear();
    return next;
  }, [api, siteUserId]);

  // On each page: pick up the session (signed-in users get theirs at once, for the unread count).
  useEffect(() => {
    if ((requireLogin && !siteUserId) || inAdminArea) return;
    let cancelled = false;
    ensureSession(Boolean(siteUserId))
      .then((s) => { if (!cancelled) setSession(s); })
      .catch(() => { if (!cancelled) setError(TEXT.failed); })
      .finally(() => { if (!cancelled) setReady(true); });
    return () => { cancelled = true; };
  }, [ensureSession, requireLogin, siteUserId, inAdminArea]);

  const refreshUnread = useCallback(() => {
    if (token) api.unread(token).then((r) => setUnread(r.unread_count)).catch(() => undefined);
  }, [api, token]);

  useEffect(refreshUnread, [refreshUnread]);

  // Unread count for the button: chatapp sends user.{id} .unread.updated when it changes.
  useEffect(() => {
    if (!echo || !session) return;
    const channel = `user.${session.user.id}`;
    echo.private(channel).listen('.unread.updated', refreshUnread);
    return () => echo.leave(channel);
  }, [echo, session, refreshUnread]);

  const loadRoom = useCallback(async (current: StoredSession) => {
    const { room: found } = await api.room(current.token);
    setRoom(found);
    setMessages(found ? (await api.history(current.token, found.id)).data : []);
  }, [api]);

  // The seed's step 5.3: listen on the room's channel while there is a room.
  useEffect(() => {
    if (!echo || !room?.id || !session) return;
    const channel = `chat.${room.id}`;
    echo.private(channel)
      .listen('.message.sent', (event: ChatMessage) => {
        setMessages((prev) => mergeMessages(prev, [event]));
        if (event.sender_role === 'admin') setIsTyping(false);
      })
      .listen('.user.typing', (event: TypingEvent) => {
        if (event.user_id !== session.user.id) setIsTyping(event.is_typing);
      });
    return () => echo.leave(channel);
  }, [echo, room?.id, session]);

  const lastId = messages.length ? messages[messages.length - 1].id : 0;
  const catchUp = useCallback(() => {
    if (!token || !room?.id) return;
    api.history(token, room.id, lastId).then((r) => setMessages((prev) => mergeMessages(prev, r.data))).catch(() => undefined);
  }, [api, token, room?.id, lastId]);
  useOnReconnect(echo, catchUp);

  // While the chat is open, support's messages count as read.
  const unreadHere = messages.some((m) => m.sender_role === 'admin' && !m.read_at);
  useEffect(() => {
    if (!isOpen || !token || !room?.id || !unreadHere) return;
    api.read(token, room.id).then(() => {
      setMessages((prev) => prev.map((m) => (m.sender_role === 'admin' && !m.read_at ? { ...m, read_at: new Date().toISOString() } : m)));
      refreshUnread();
    }).catch(() => undefined);
  }, [api, isOpen, token, room?.id, unreadHere, refreshUnread]);

  useEffect(() => {
    listRef.current?.scrollTo({ top: listRef.current.scrollHeight });
  }, [messages, isTyping, isOpen]);

  const typing = useTypingSender(token && room?.id
    ? (on: boolean) => { api.typing(token, room.id, on, socketId(echo)).catch(() => undefined); }
    : null);

  async function openChat() {
    setIsOpen(true);
    setError(null);
    try {
      const current = await ensureSession(true);
      if (!current) return;
      setSession(current);
      await loadRoom(current);
    } catch {
      setError(TEXT.failed);
    }
  }

  async function sendMessage(event: FormEvent) {
    event.preventDefault();
    const body = draft.trim();
    if (!body || !session) return;
    typing.stop();
    setDraft('');
    try {
      const sent = await api.send(session.token, body, idempotencyKey(), socketId(echo));
      setRoom(sent.room);
      setMessages((prev) => mergeMessages(prev, [sent.message]));
      setError(null);
    } catch {
      setDraft(body);
      setError(TEXT.failed);
    }
  }

  if ((requireLogin && !siteUserId) || inAdminArea) return null;

  return (
    <div className="chat-widget" data-ready={ready}>
      {isOpen && (
        <section className="chat-panel" role="dialog" aria-label={TEXT.title}>
          <header>
            <h2>{TEXT.title}</h2>
            <button type="button" onClick={() => setIsOpen(false)} aria-label={TEXT.close}>×</button>
          </header>
          <div className="chat-messages" ref={listRef} data-room-id={room?.id ?? ''}>
            {!messages.length && <p className="chat-empty">{TEXT.empty}</p>}
            {messages.map((m) => (
              <div key={m.id} className={`chat-message from-${m.sender_role}`} data-message-id={m.id}>
                <span className="chat-sender">{m.sender_role === 'user' ? TEXT.you : m.sender_name}</span>
                <p>{m.body}</p>
              </div>
            ))}
            {isTyping && <p className="chat-typing" role="status">{TEXT.typing}</p>}
          </div>
          {error && <p className="chat-error" role="alert">{error}</p>}
          <form onSubmit={sendMessage}>
            <input
              aria-label={TEXT.message}
              placeholder={TEXT.placeholder}
              value={draft}
              disabled={!session}
              onChange={(e) => { setDraft(e.target.value); typing.keystroke(); }}
              onBlur={typing.stop}
            />
            <button type="submit" disabled={!session || !draft.trim()}>{TEXT.send}</button>
          </form>
        </section>
      )}
      <button type="button" className="chat-launcher" aria-label={isOpen ? TEXT.hide : TEXT.open} aria-expanded={isOpen}
        onClick={() => (isOpen ? setIsOpen(false) : openChat())}>
        <svg viewBox="0 0 24 24" width="26" height="26" aria-hidden="true" fill="currentColor">
          <path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2Z" />
        </svg>
        {unread > 0 && <span className="chat-unread" aria-label={`${unread} unread`}>{unread}</span>}
      </button>
    </div>
  );
}
