// Who the visitor is: a guest token kept in localStorage, or the host site's signed identity.

function jwtSubject(token) {
  try {
    const part = String(token).split('.')[1];
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (part.length % 4)) % 4));
    const claims = JSON.parse(json);
    return claims && claims.sub != null ? String(claims.sub) : null;
  } catch {
    return null;
  }
}

export class SessionStore {
  constructor(base) { this.key = `chatapp.widget:${base}`; }

  load() {
    try {
      const doc = JSON.parse(localStorage.getItem(this.key) || 'null');
      return doc && typeof doc.token === 'string' ? doc : null;
    } catch {
      return null;
    }
  }

  save(doc) {
    try { localStorage.setItem(this.key, JSON.stringify(doc)); } catch { /* storage off: session only */ }
  }

  clear() {
    try { localStorage.removeItem(this.key); } catch { /* ignore */ }
  }
}

/**
 * Find (or make) the bearer token for this visitor.
 *   token:    a chatapp token the host page already has (its own login against chatapp)
 *   identity: the host site's signed JWT -> exchanged at /api/auth/identity (a guest's chat moves along)
 *   neither:  a stored guest token, or none yet (a guest is made when the chat is first opened)
 */
export async function resolveSession(api, store, { token, identity }) {
  const stored = store.load();
  const now = Date.now() / 1000;
  if (token) return { token, kind: 'token' };
  if (identity) {
    const subject = jwtSubject(identity);
    if (stored && stored.kind === 'identity' && stored.sub === subject && stored.expires_at > now + 60) return stored;
    api.token = stored && stored.kind === 'guest' ? stored.token : null;
    const doc = await api.post('/api/auth/identity', { identity });
    const session = { token: doc.token, kind: 'identity', sub: subject, expires_at: now + doc.expires_in };
    store.save(session);
    return session;
  }
  if (stored && stored.kind === 'guest' && stored.expires_at > now + 60) return stored;
  // A site user's chat never outlives their login on the site.
  if (stored) store.clear();
  return null;
}

export async function newGuest(api, store, name) {
  api.token = null;
  const doc = await api.post('/api/auth/guest', name ? { name } : {});
  const session = { token: doc.token, kind: 'guest', expires_at: Date.now() / 1000 + doc.expires_in };
  store.save(session);
  return { ...session, user: doc.user };
}
