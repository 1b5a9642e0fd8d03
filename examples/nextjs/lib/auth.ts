// Server only: the host site's own sign-in, a stand-in for whatever the site already has
// (NextAuth, a Laravel Sanctum cookie, …). The user is kept in an HMAC-signed cookie.
// Replace getCurrentUser() with your session lookup; chatapp only needs { id, name, email }.
import 'server-only';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { cookies } from 'next/headers';
import type { SiteUser } from '@/lib/chat-identity';

const COOKIE = 'site_session';
const MAX_AGE_SECONDS = 7 * 24 * 3600;

function secret(): string {
  const value = process.env.SITE_SESSION_SECRET;
  if (!value || value.length < 16) throw new Error('Set SITE_SESSION_SECRET (at least 16 characters)');
  return value;
}

const sign = (data: string) => createHmac('sha256', secret()).update(data).digest('base64url');

export async function getCurrentUser(): Promise<SiteUser | null> {
  const raw = (await cookies()).get(COOKIE)?.value;
  if (!raw) return null;
  const [data, signature] = raw.split('.');
  if (!data || !signature) return null;
  const expected = Buffer.from(sign(data));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
  try {
    return JSON.parse(Buffer.from(data, 'base64url').toString()) as SiteUser;
  } catch {
    return null;
  }
}

export async function startSession(user: SiteUser): Promise<void> {
  const data = Buffer.from(JSON.stringify(user)).toString('base64url');
  (await cookies()).set(COOKIE, `${data}.${sign(data)}`, {
    httpOnly: true,
    sameSite: 'lax',
    secure: process.env.NODE_ENV === 'production' && process.env.SITE_INSECURE_COOKIES !== 'true',
    path: '/',
    maxAge: MAX_AGE_SECONDS,
  });
}

export async function endSession(): Promise<void> {
  (await cookies()).delete(COOKIE);
}
