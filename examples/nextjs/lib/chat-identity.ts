// Server only: signs the signed-in user for chatapp's POST /api/auth/identity (an HS256 JWT).
// The secret never reaches the browser. Same format as docs/identity.md (PHP and Python there).
import 'server-only';
import { createHmac } from 'node:crypto';

export type SiteUser = { id: string | number; name: string; email?: string | null };

const b64url = (input: Buffer | string) =>
  Buffer.from(input).toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

export function chatIdentityToken(user: SiteUser, ttlSeconds = 3600): string {
  const secret = process.env.CHATAPP_IDENTITY_SECRET;
  if (!secret || secret.length < 16) throw new Error('Set CHATAPP_IDENTITY_SECRET (at least 16 characters)');
  const now = Math.floor(Date.now() / 1000);
  const header = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const payload = b64url(JSON.stringify({
    sub: String(user.id),
    name: user.name,
    ...(user.email ? { email: user.email } : {}),
    iat: now,
    exp: now + ttlSeconds,
  }));
  const signature = b64url(createHmac('sha256', secret).update(`${header}.${payload}`).digest());
  return `${header}.${payload}.${signature}`;
}
