'use client';

// The chat button on every page (the brief's LiveChatWidget), as a thin wrapper around
// chatapp's one-tag widget: chatapp serves the widget, laravel-echo and pusher-js itself.
import { useEffect, useRef } from 'react';

type ChatWidgetApi = {
  open(): void;
  close(): void;
  identify(identity: string): void;
  logout(): void;
  on(event: 'ready' | 'open' | 'close' | 'message' | 'unread' | 'sound' | 'connection', listener: (detail: unknown) => void): void;
};

declare global {
  interface Window {
    ChatWidget?: ChatWidgetApi;
    ChatWidgetSettings?: Record<string, string | boolean>;
  }
}

const CHAT_URL = process.env.NEXT_PUBLIC_CHAT_URL ?? 'http://127.0.0.1:8000';

type Props = {
  /** The signed-in user's identity token (from chatIdentityToken on the server), or null for guests. */
  identity?: string | null;
  /** Hide the button from guests (the brief's ChatProvider variant). */
  requireLogin?: boolean;
  title?: string;
};

export default function LiveChatWidget({ identity = null, requireLogin = false, title = 'Support' }: Props) {
  const loaded = useRef(false);
  const lastIdentity = useRef<string | null>(identity);

  // Load the widget once per page load, with the identity known at that time.
  useEffect(() => {
    if (loaded.current || document.querySelector('script[data-chatapp-widget]')) return;
    loaded.current = true;
    window.ChatWidgetSettings = { title, requireLogin, ...(identity ? { identity } : {}) };
    const script = document.createElement('script');
    script.src = `${CHAT_URL}/widget.js`;
    script.async = true;
    script.dataset.chatappWidget = '';
    document.body.appendChild(script);
  }, []); // eslint-disable-line react-hooks/exhaustive-deps

  // Sign-in or sign-out without a full page load: tell the widget who is here now.
  useEffect(() => {
    if (identity === lastIdentity.current || !window.ChatWidget) return;
    lastIdentity.current = identity;
    if (identity) window.ChatWidget.identify(identity);
    else window.ChatWidget.logout();
  }, [identity]);

  return null;
}
