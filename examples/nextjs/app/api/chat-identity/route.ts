// GET /api/chat-identity: the signed-in site user as chatapp's identity token (docs/identity.md).
// The widget exchanges it at chatapp's POST /api/auth/identity; the secret stays on this server.
import { NextResponse } from 'next/server';
import { getCurrentUser } from '@/lib/auth';
import { chatIdentityToken } from '@/lib/chat-identity';

export async function GET() {
  const user = await getCurrentUser();
  if (!user) {
    return NextResponse.json({ error: 'unauthenticated', message: 'Sign in to the site first' }, { status: 401 });
  }
  return NextResponse.json({ identity: chatIdentityToken(user) }, { headers: { 'Cache-Control': 'no-store' } });
}
