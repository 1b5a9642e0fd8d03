'use client';

// The seed's AdminChatPanel (/admin/chat): every chat, the filters open / assigned / urgent /
// unread, and the statistics; kept live by Echo on the private admin.chat channel.
import Link from 'next/link';
import { useCallback, useEffect, useState } from 'react';
import AdminLogin from '@/components/chat/AdminLogin';
import { useAdminSession } from '@/components/chat/useAdminSession';
import type { ChatRoom, ChatStats } from '@/lib/chat-api';
import { useEcho, useOnReconnect } from '@/lib/use-echo';

const FILTERS = [
  { value: 'all', label: 'All' },
  { value: 'open', label: 'Open' },
  { value: 'assigned', label: 'Assigned' },
  { value: 'urgent', label: 'Urgent' },
  { value: 'unread', label: 'Unread' },
] as const;

const STATS: { key: keyof ChatStats; label: string }[] = [
  { key: 'open', label: 'Open' },
  { key: 'assigned', label: 'Assigned' },
  { key: 'unassigned', label: 'Unassigned' },
  { key: 'urgent', label: 'Urgent' },
  { key: 'unread_messages', label: 'Unread messages' },
];

const TEXT = {
  title: 'Support chats',
  filters: 'Filter chats',
  stats: 'Statistics',
  empty: 'No chats here.',
  signOut: 'Sign out',
  unassigned: 'unassigned',
  noSubject: '(no subject)',
};

export default function AdminChatPanel() {
  const { api, config, session, checked, signIn, signOut } = useAdminSession();
  const [filter, setFilter] = useState<string>('all');
  const [rooms, setRooms] = useState<ChatRoom[] | null>(null);
  const [stats, setStats] = useState<ChatStats | null>(null);
  const token = session?.token ?? null;
  const echo = useEcho(config, token);

  const reload = useCallback(() => {
    if (!token) return;
    api.admin.rooms(token, filter).then((r) => setRooms(r.data)).catch(() => undefined);
    api.admin.stats(token).then((r) => setStats(r.stats)).catch(() => undefined);
  }, [api, token, filter]);

  useEffect(reload, [reload]);
  useOnReconnect(echo, reload);

  useEffect(() => {
    if (!echo) return;
    echo.private('admin.chat')
      .listen('.chat.created', reload)
      .listen('.chat.message', reload)
      .listen('.room.updated', reload)
      .listen('.stats.updated', (event: { stats: ChatStats }) => setStats(event.stats));
    return () => echo.leave('admin.chat');
  }, [echo, reload]);

  if (!checked) return null;
  if (!session) return <AdminLogin onSignIn={signIn} />;

  return (
    <main className="admin-panel" data-ready={rooms !== null}>
      <header>
        <h1>{TEXT.title}</h1>
        <span>{session.user.name}</span>
        <button type="button" onClick={signOut}>{TEXT.signOut}</button>
      </header>
      <dl className="admin-stats" aria-label={TEXT.stats}>
        {STATS.map(({ key, label }) => (
          <div key={key} data-stat={key}><dt>{label}</dt><dd>{stats ? stats[key] : '–'}</dd></div>
        ))}
      </dl>
      <nav className="admin-filters" aria-label={TEXT.filters}>
        {FILTERS.map(({ value, label }) => (
          <button key={value} type="button" aria-pressed={filter === value} onClick={() => setFilter(value)}>{label}</button>
        ))}
      </nav>
      <ul className="admin-rooms">
        {rooms?.length === 0 && <li>{TEXT.empty}</li>}
        {rooms?.map((room) => (
          <li key={room.id} data-room-id={room.id} className={room.priority === 'urgent' ? 'urgent' : undefined}>
            <Link href={`/admin/chat/${room.id}`}>
              <strong>{room.user?.name}</strong> {room.subject ?? TEXT.noSubject}
            </Link>
            <span className="room-status">{room.status}</span>
            <span>{room.assigned_admin?.name ?? TEXT.unassigned}</span>
            {room.unread_count > 0 && <span className="chat-unread">{room.unread_count}</span>}
            <p>{room.last_message_preview}</p>
          </li>
        ))}
      </ul>
    </main>
  );
}
