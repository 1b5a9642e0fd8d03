'use client';

// Support's sign-in for the panel (POST /api/auth/login, admins only), kept in localStorage.
import { useCallback, useEffect, useMemo, useState } from 'react';
import { useChatConfig } from '@/components/chat/ChatConfigProvider';
import { chatApi, ChatApiError } from '@/lib/chat-api';
import { adminSessions, type StoredSession } from '@/lib/chat-session';

export const ADMIN_TEXT = {
  notAdmin: 'This account is not a support admin.',
  signInFailed: 'Wrong e-mail or password.',
};

export function useAdminSession() {
  const config = useChatConfig();
  const api = useMemo(() => chatApi(config.apiUrl), [config.apiUrl]);
  const [session, setSession] = useState<StoredSession | null>(null);
  const [checked, setChecked] = useState(false);

  useEffect(() => {
    const stored = adminSessions.load();
    if (!stored) {
      setChecked(true);
      return;
    }
    api.me(stored.token)
      .then(({ user }) => setSession(user.role === 'admin' ? { ...stored, user } : null))
      .catch(() => adminSessions.clear())
      .finally(() => setChecked(true));
  }, [api]);

  const signIn = useCallback(async (email: string, password: string): Promise<string | null> => {
    try {
      const doc = await api.login(email, password);
      if (doc.user.role !== 'admin') return ADMIN_TEXT.notAdmin;
      const next = { ...doc, siteUserId: null };
      adminSessions.save(next);
      setSession(next);
      return null;
    } catch (error) {
      return error instanceof ChatApiError && error.status === 401 ? ADMIN_TEXT.signInFailed : String(error);
    }
  }, [api]);

  const signOut = useCallback(() => {
    adminSessions.clear();
    setSession(null);
  }, []);

  return { api, config, session, checked, signIn, signOut };
}
