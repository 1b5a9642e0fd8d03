'use client';

// One chat for support (/admin/chat/[id]): history, live messages and typing on chat.{id},
// reply, assign to me, resolve and close.
import Link from 'next/link';
import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import AdminLogin from '@/components/chat/AdminLogin';
import { useAdminSession } from '@/components/chat/useAdminSession';
import { mergeMessages, type ChatMessage, type ChatRoom } from '@/lib/chat-api';
import { idempotencyKey } from '@/lib/chat-session';
import { socketId } from '@/lib/echo-chat';
import { useEcho, useOnReconnect } from '@/lib/use-echo';
import { useTypingSender } from '@/lib/use-typing';

const TEXT = {
  back: 'All chats',
  assign: 'Assign to me',
  resolve: 'Resolve',
  close: 'Close',
  message: 'Message',
  send: 'Send',
  placeholder: 'Type a reply…',
  typing: 'is typing…',
  unassigned: 'unassigned',
  failed: 'That did not work: ',
};

type TypingEvent = { user_id: number; name: string; is_typing: boolean };

export default function AdminChatRoom({ roomId }: { roomId: number }) {
  const { api, config, session, checked, signIn } = useAdminSession();
  const [room, setRoom] = useState<ChatRoom | null>(null);
  const [messages, setMessages] = useState<ChatMessage[]>([]);
  const [typingName, setTypingName] = useState<string | null>(null);
  const [draft, setDraft] = useState('');
  const [error, setError] = useState<string | null>(null);
  const listRef = useRef<HTMLOListElement>(null);
  const token = session?.token ?? null;
  const echo = useEcho(config, token);

  const load = useCallback(() => {
    if (!token) return;
    api.admin.room(token, roomId).then((r) => {
      setRoom(r.room);
      setMessages((prev) => mergeMessages(prev, r.messages.data));
    }).catch((e) => setError(TEXT.failed + String(e.message ?? e)));
  }, [api, token, roomId]);
  useEffect(load, [load]);
  useOnReconnect(echo, load);

  useEffect(() => {
    if (!echo || !session) return;
    const channel = `chat.${roomId}`;
    echo.private(channel)
      .listen('.message.sent', (event: ChatMessage) => {
        setMessages((prev) => mergeMessages(prev, [event]));
        if (event.sender_role === 'user') setTypingName(null);
      })
      .listen('.user.typing', (event: TypingEvent) => {
        if (event.user_id !== session.user.id) setTypingName(event.is_typing ? event.name : null);
      })
      .listen('.room.updated', (event: { room: ChatRoom }) => setRoom((prev) => ({ ...prev, ...event.room })));
    return () => echo.leave(channel);
  }, [echo, session, roomId]);

  // Opening the chat reads the visitor's messages (their unread count drops for every agent).
  const unreadHere = messages.some((m) => m.sender_role === 'user' && !m.read_at);
  useEffect(() => {
    if (!token || !unreadHere) return;
    api.admin.action(token, roomId, 'read').then(() => {
      setMessages((prev) => prev.map((m) => (m.sender_role === 'user' && !m.read_at ? { ...m, read_at: new Date().toISOString() } : m)));
    }).catch(() => undefined);
  }, [api, token, roomId, unreadHere]);

  useEffect(() => {
    listRef.current?.scrollTo({ top: listRef.current.scrollHeight });
  }, [messages, typingName]);

  const typing = useTypingSender(token
    ? (on: boolean) => { api.admin.typing(token, roomId, on, socketId(echo)).catch(() => undefined); }
    : null);

  async function act(action: 'assign' | 'resolve' | 'close') {
    if (!token) return;
    try {
      const result = await api.admin.action(token, roomId, action);
      if (result.room) setRoom(result.room);
      else load();
      setError(null);
    } catch (e) {
      setError(TEXT.failed + (e instanceof Error ? e.message : String(e)));
    }
  }

  async function reply(event: FormEvent) {
    event.preventDefault();
    const body = draft.trim();
    if (!body || !token) return;
    typing.stop();
    setDraft('');
    try {
      const sent = await api.admin.reply(token, roomId, body, idempotencyKey(), socketId(echo));
      setMessages((prev) => mergeMessages(prev, [sent.message]));
      setError(null);
    } catch (e) {
      setDraft(body);
      setError(TEXT.failed + (e instanceof Error ? e.message : String(e)));
    }
  }

  if (!checked) return null;
  if (!session) return <AdminLogin onSignIn={signIn} />;

  const finished = room?.status === 'resolved' || room?.status === 'closed';
  return (
    <main className="admin-room" data-ready={room !== null}>
      <header>
        <Link href="/admin/chat">{TEXT.back}</Link>
        <h1>#{roomId} {room?.user?.name}</h1>
        <span className="room-status" data-status={room?.status}>{room?.status}</span>
        <span>{room?.assigned_admin?.name ?? TEXT.unassigned}</span>
        <button type="button" onClick={() => act('assign')} disabled={!room || finished || room.assigned_admin?.id === session.user.id}>{TEXT.assign}</button>
        <button type="button" onClick={() => act('resolve')} disabled={!room || finished}>{TEXT.resolve}</button>
        <button type="button" onClick={() => act('close')} disabled={!room || room.status === 'closed'}>{TEXT.close}</button>
      </header>
      <ol className="chat-messages" ref={listRef}>
        {messages.map((m) => (
          <li key={m.id} className={`chat-message from-${m.sender_role}`} data-message-id={m.id}>
            <span className="chat-sender">{m.sender_name}</span>
            <p>{m.body}</p>
          </li>
        ))}
      </ol>
      {typingName && <p className="chat-typing" role="status">{typingName} {TEXT.typing}</p>}
      {error && <p className="chat-error" role="alert">{error}</p>}
      <form onSubmit={reply}>
        <input aria-label={TEXT.message} placeholder={TEXT.placeholder} value={draft} disabled={room?.status === 'closed'}
          onChange={(e) => { setDraft(e.target.value); typing.keystroke(); }} onBlur={typing.stop} />
        <button type="submit" disabled={!draft.trim()}>{TEXT.send}</button>
      </form>
    </main>
  );
}
