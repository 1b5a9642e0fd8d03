import AdminChatPanel from '@/components/chat/AdminChatPanel';

export default function AdminChatPage() {
  return <AdminChatPanel />;
}
