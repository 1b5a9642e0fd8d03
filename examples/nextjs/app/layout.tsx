// The root layout: the chat button on every page (the seed's step 3.1), or only for signed-in
// users with CHAT_REQUIRE_LOGIN=true (step 3.2).
import type { ReactNode } from 'react';
import type { Metadata } from 'next';
import Link from 'next/link';
import { ChatConfigProvider } from '@/components/chat/ChatConfigProvider';
import LiveChatWidget from '@/components/chat/LiveChatWidget';
import { getCurrentUser } from '@/lib/auth';
import { chatConfig, chatRequiresLogin } from '@/lib/chat-config';
import { signOut } from './login/actions';
import './globals.css';

export const metadata: Metadata = { title: 'Northwind Outfitters' };

const TEXT = { shop: 'Northwind Outfitters', signIn: 'Sign in', signOut: 'Sign out', signedInAs: 'Signed in as' };

export default async function RootLayout({ children }: { children: ReactNode }) {
  const [config, user] = await Promise.all([chatConfig(), getCurrentUser()]);
  const siteUser = user ? { id: String(user.id), name: user.name } : null;
  return (
    <html lang="en">
      <body>
        <header className="site-header">
          <Link href="/">{TEXT.shop}</Link>
          {user ? (
            <form action={signOut}>
              <span className="site-user">{TEXT.signedInAs} {user.name}</span> <button type="submit">{TEXT.signOut}</button>
            </form>
          ) : (
            <Link href="/login">{TEXT.signIn}</Link>
          )}
        </header>
        <ChatConfigProvider config={config}>
          {children}
          <LiveChatWidget siteUser={siteUser} requireLogin={chatRequiresLogin()} />
        </ChatConfigProvider>
      </body>
    </html>
  );
}
