// Security headers for every page, as a real site sends them: a nonce-based
// Content-Security-Policy whose connect-src names chatapp's API and pyreverb's WebSocket origin.
// Next.js puts the nonce on its own scripts when it finds it in the request's CSP header.
import { NextResponse, type NextRequest } from 'next/server';
import { chatOrigins } from '@/lib/chat-config';

export function proxy(request: NextRequest) {
  const nonce = Buffer.from(crypto.randomUUID()).toString('base64');
  const dev = process.env.NODE_ENV === 'development';
  const chat = chatOrigins();
  const policy = [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${dev ? " 'unsafe-eval'" : ''}`,
    `style-src 'self' 'nonce-${nonce}'`,
    `connect-src 'self' ${chat.join(' ')}`,
    `img-src 'self' data: blob: ${chat[0] ?? ''}`.trim(),
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');

  const headers = new Headers(request.headers);
  headers.set('x-nonce', nonce);
  headers.set('Content-Security-Policy', policy);
  const response = NextResponse.next({ request: { headers } });
  response.headers.set('Content-Security-Policy', policy);
  response.headers.set('X-Content-Type-Options', 'nosniff');
  response.headers.set('Referrer-Policy', 'strict-origin-when-cross-origin');
  return response;
}

export const config = {
  // Pages only: not the static files, which carry no HTML.
  matcher: [{ source: '/((?!api|_next/static|_next/image|favicon.ico).*)' }],
};
