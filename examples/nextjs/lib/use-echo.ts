'use client';

// One Echo connection per chat token, closed when the token changes or the component goes.
import { useEffect, useState } from 'react';
import type { ChatConfig } from '@/lib/chat-config';
import { createEcho, type ChatEcho } from '@/lib/echo-chat';

export function useEcho(config: ChatConfig, token: string | null): ChatEcho | null {
  const [echo, setEcho] = useState<ChatEcho | null>(null);
  useEffect(() => {
    if (!token) return;
    const client = createEcho(config, token);
    setEcho(client);
    return () => {
      client.disconnect();
      setEcho(null);
    };
  }, [config, token]);
  return echo;
}

/** Calls `catchUp` each time the socket connects again after a drop (events may have been missed). */
export function useOnReconnect(echo: ChatEcho | null, catchUp: () => void): void {
  useEffect(() => {
    if (!echo) return;
    const connection = echo.connector.pusher.connection;
    let seenFirst = connection.state === 'connected';
    const onConnected = () => {
      if (seenFirst) catchUp();
      seenFirst = true;
    };
    connection.bind('connected', onConnected);
    return () => {
      connection.unbind('connected', onConnected);
    };
  }, [echo, catchUp]);
}
