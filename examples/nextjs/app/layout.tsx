// app/layout.tsx: the chat button on every page; signed-in users are chat users at once.
import type { ReactNode } from 'react';
import LiveChatWidget from '@/components/LiveChatWidget';
import { chatIdentityToken } from '@/lib/chat-identity';
import { getCurrentUser } from '@/lib/auth'; // your app's own session lookup

export default async function RootLayout({ children }: { children: ReactNode }) {
  const user = await getCurrentUser(); // { id, name, email } or null
  const identity = user ? chatIdentityToken(user) : null;
  return (
    <html lang="en">
      <body>
        {children}
        <LiveChatWidget identity={identity} title="Support" />
      </body>
    </html>
  );
}
