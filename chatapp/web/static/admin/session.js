// The admin's bearer token, kept in this browser's localStorage.
import { Api } from '../shared/api.js';

export const TOKEN_KEY = 'chatapp.admin.token';
let leaving = false;

export function loginUrl(reason) {
  const next = location.pathname + location.search;
  const query = new URLSearchParams({ next });
  if (reason) query.set('reason', reason);
  return `/admin/login?${query}`;
}

export function adminApi() {
  const token = localStorage.getItem(TOKEN_KEY);
  if (!token) return null;
  return new Api(location.origin, {
    token,
    onUnauthorized: (error) => {
      // Several calls in flight may all be refused: leave once, so no navigation cancels another.
      if (leaving) return;
      leaving = true;
      localStorage.removeItem(TOKEN_KEY);
      location.assign(loginUrl(error.code === 'token_revoked' ? 'signed-out' : 'expired'));
    },
  });
}

/** Leave for the login page, once: a sign-out click and the ended socket it causes race to it. */
export function signOut(reason) {
  if (leaving) return;
  leaving = true;
  localStorage.removeItem(TOKEN_KEY);
  location.assign(reason ? loginUrl(reason) : '/admin/login');
}
