// chatapp's JSON API for one caller: bearer token, socket id, clear errors.

export class ApiError extends Error {
  constructor(status, doc, retryAfter = null) {
    super((doc && doc.message) || `The server answered ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = (doc && doc.error) || 'http_error';
    this.doc = doc || {};
    // Seconds to wait before trying again: the body's retry_after, else the Retry-After header.
    this.retryAfter = Number(this.doc.retry_after) || Number(retryAfter) || null;
  }
}

export class NetworkError extends Error {
  constructor(message = 'Cannot reach the chat server') {
    super(message);
    this.name = 'NetworkError';
  }
}

export class Api {
  /** base: chatapp's URL (may include a path prefix); token: a bearer token or null. */
  constructor(base, { token = null, onUnauthorized = null } = {}) {
    this.base = String(base).replace(/\/+$/, '');
    this.origin = new URL(this.base + '/').origin;
    this.token = token;
    this.onUnauthorized = onUnauthorized;
    this.socketId = () => null;
  }

  url(path, query) {
    const url = new URL(this.base + path);
    for (const [name, value] of Object.entries(query || {})) {
      if (value !== undefined && value !== null && value !== '') url.searchParams.set(name, String(value));
    }
    return url.toString();
  }

  /** A URL the server handed us, made absolute against chatapp (never another site). */
  resolve(url) {
    const absolute = new URL(url, this.base + '/');
    if (absolute.origin !== this.origin || !/^https?:$/.test(absolute.protocol)) return null;
    return absolute.toString();
  }

  headers(extra) {
    const headers = { Accept: 'application/json', ...(extra || {}) };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    const socketId = this.socketId();
    if (socketId) headers['X-Socket-ID'] = socketId;
    return headers;
  }

  async request(method, path, { json, form, query, headers, signal } = {}) {
    const init = { method, headers: this.headers(headers), signal, credentials: 'omit', mode: 'cors' };
    if (json !== undefined) {
      init.body = JSON.stringify(json);
      init.headers['Content-Type'] = 'application/json';
    } else if (form) {
      init.body = form;
    }
    let response;
    try {
      response = await fetch(this.url(path, query), init);
    } catch (error) {
      if (error && error.name === 'AbortError') throw error;
      throw new NetworkError();
    }
    const text = await response.text();
    let doc = null;
    if (text) {
      try { doc = JSON.parse(text); } catch { doc = null; }
    }
    if (!response.ok) {
      const error = new ApiError(response.status, doc, response.headers.get('Retry-After'));
      if (response.status === 401 && this.onUnauthorized) this.onUnauthorized(error);
      throw error;
    }
    return doc;
  }

  get(path, query, options) { return this.request('GET', path, { ...options, query }); }
  post(path, json, options) { return this.request('POST', path, { ...options, json }); }

  /** Download a protected file (attachments need the bearer token, so no plain <img src>). */
  async blob(url) {
    const target = this.resolve(url);
    if (!target) throw new ApiError(400, { message: 'Refusing to fetch a file from another site' });
    let response;
    try {
      response = await fetch(target, { headers: this.headers(), credentials: 'omit', mode: 'cors' });
    } catch {
      throw new NetworkError();
    }
    if (!response.ok) throw new ApiError(response.status, null);
    return response.blob();
  }
}

/** Worth trying again by itself: no connection, a server error or a rate limit. */
export function transient(error) {
  return error instanceof NetworkError || (error instanceof ApiError && (error.status >= 500 || error.status === 429));
}

/** How long to wait before attempt ``attempt + 1``: what the server asked for, else back off. */
export function retryDelay(attempt, error) {
  const hinted = error instanceof ApiError && error.retryAfter;
  return hinted ? hinted * 1000 : Math.min(8000, 500 * 2 ** attempt);
}

/** A random idempotency key, so a retried send never stores the message twice. */
export function newKey() {
  if (globalThis.crypto && crypto.randomUUID) return crypto.randomUUID();
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
