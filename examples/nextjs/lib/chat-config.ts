// Server only: where chatapp and pyreverb are, read from the environment when a page is rendered.
// Reading at request time (not inlined by `next build`) lets one build serve every environment,
// so the same image goes to staging and production with different NEXT_PUBLIC_* values.
import 'server-only';
import { connection } from 'next/server';

export type ChatConfig = {
  /** chatapp's origin, e.g. https://chat.example.com (its API is under /api). */
  apiUrl: string;
  /** The seed's Echo variables. */
  reverb: { key: string; host: string; port: number | undefined; scheme: string };
};

const env = (name: string): string | undefined => process.env[name] || undefined;

export async function chatConfig(): Promise<ChatConfig> {
  await connection(); // request time, not build time
  const port = env('NEXT_PUBLIC_REVERB_PORT');
  return {
    apiUrl: (env('NEXT_PUBLIC_CHAT_API_URL') ?? 'http://127.0.0.1:8000').replace(/\/+$/, ''),
    reverb: {
      key: env('NEXT_PUBLIC_REVERB_APP_KEY') ?? '',
      host: env('NEXT_PUBLIC_REVERB_HOST') ?? 'localhost',
      port: port ? Number(port) : undefined,
      scheme: env('NEXT_PUBLIC_REVERB_SCHEME') ?? 'https',
    },
  };
}

/** The origins the browser talks to, for the Content-Security-Policy's connect-src. */
export function chatOrigins(): string[] {
  const api = env('NEXT_PUBLIC_CHAT_API_URL');
  const host = env('NEXT_PUBLIC_REVERB_HOST');
  const scheme = env('NEXT_PUBLIC_REVERB_SCHEME') ?? 'https';
  const port = env('NEXT_PUBLIC_REVERB_PORT');
  const origins: string[] = [];
  if (api) origins.push(new URL(api).origin);
  if (host) origins.push(`${scheme === 'https' ? 'wss' : 'ws'}://${host}${port ? `:${port}` : ''}`);
  return origins;
}

/** The seed's "only for signed-in users" variant of the chat button (CHAT_REQUIRE_LOGIN=true). */
export function chatRequiresLogin(): boolean {
  return env('CHAT_REQUIRE_LOGIN') === 'true';
}
