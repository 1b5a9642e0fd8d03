'use client';

// Hands the server-read chat configuration to every client component below the root layout.
import { createContext, useContext, type ReactNode } from 'react';
import type { ChatConfig } from '@/lib/chat-config';

const ChatConfigContext = createContext<ChatConfig | null>(null);

export function ChatConfigProvider({ config, children }: { config: ChatConfig; children: ReactNode }) {
  return <ChatConfigContext.Provider value={config}>{children}</ChatConfigContext.Provider>;
}

export function useChatConfig(): ChatConfig {
  const config = useContext(ChatConfigContext);
  if (!config) throw new Error('useChatConfig() outside <ChatConfigProvider>');
  return config;
}
