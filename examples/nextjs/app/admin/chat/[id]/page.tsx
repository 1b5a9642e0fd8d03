import { notFound } from 'next/navigation';
import AdminChatRoom from '@/components/chat/AdminChatRoom';

export default async function AdminChatRoomPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const roomId = Number(id);
  if (!Number.isSafeInteger(roomId) || roomId < 1) notFound();
  return <AdminChatRoom roomId={roomId} />;
}
