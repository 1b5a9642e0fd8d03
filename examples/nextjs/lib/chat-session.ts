'use client';

// The chat token kept in localStorage: shared by every tab of this site, so two tabs of one
// visitor are one chat user. `siteUserId` says which signed-in site user it belongs to (null: a guest).
import type { Session } from '@/lib/chat-api';

export type StoredSession = Session & { siteUserId: string | null };

export function sessionStore(key: string) {
  return {
    load(): StoredSession | null {
      try {
        const doc = JSON.parse(localStorage.getItem(key) ?? 'null');
        return doc && typeof doc.token === 'string' ? (doc as StoredSession) : null;
      } catch {
        return null;
      }
    },
    save(session: StoredSession): void {
      localStorage.setItem(key, JSON.stringify(session));
    },
    clear(): void {
      localStorage.removeItem(key);
    },
  };
}

export const visitorSessions = sessionStore('chat.session');
export const adminSessions = sessionStore('chat.admin.session');

/** A client-made key that makes a retried send store one message (chatapp's idempotency_key). */
export function idempotencyKey(): string {
  return crypto.randomUUID();
}
