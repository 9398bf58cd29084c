// Calls to the clinic API, shared by the patient app and the console: the caller's token, the contract's error
// shape, safe retries, and what a sign-in token says about its holder.

export class ApiError extends Error {
  constructor(status, body, retryAfter = null) {
    const error = (body && body.error) || {};
    super(error.message || `The clinic answered ${status}.`);
    this.status = status;
    this.code = error.code || (status === 0 ? 'NETWORK' : 'ERROR');
    this.details = error.details || {};
    this.fields = this.details.fields || {};
    this.retryAfter = retryAfter;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function newKey() {
  // an Idempotency-Key: one per intended change, reused by its retries
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function createApi(base, getToken, onUnauthenticated = () => {}) {
  // `retries` is only for requests that are safe to repeat: reads, and writes that carry an Idempotency-Key.
  // `keepalive` lets a small write (a hold's release) finish while the page is being left.
  async function request(method, path, { body, headers = {}, retries = 0, keepalive = false } = {}) {
    const init = { method, headers: { ...headers }, cache: 'no-store' };
    if (keepalive) init.keepalive = true;
    const token = getToken();
    if (token) init.headers.Authorization = token;
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    for (let attempt = 0; ; attempt += 1) {
      let response;
      try {
        response = await fetch((typeof base === 'function' ? base() : base) + path, init);
      } catch (err) {
        if (attempt < retries) {
          await sleep(300 * (attempt + 1));
          continue;
        }
        throw new ApiError(0, {
          error: { message: 'We could not reach the clinic. Check your connection, then try again.' },
        });
      }
      if ((response.status === 503 || response.status === 429) && attempt < retries) {
        const wait = Number(response.headers.get('Retry-After')) || 1;
        await sleep(Math.min(wait, 5) * 1000);
        continue;
      }
      response.sentToken = token;
      return response;
    }
  }

  async function json(method, path, options) {
    const response = await request(method, path, options);
    if (response.status === 304) return { notModified: true };
    const data = await response.json().catch(() => null);
    // only the session that was refused ends: a late answer to an earlier token never signs out a newer one
    if (response.status === 401 && response.sentToken && response.sentToken === getToken()
      && !(options && options.keepSession)) {
      onUnauthenticated();
    }
    if (!response.ok) throw new ApiError(response.status, data, response.headers.get('Retry-After'));
    return data;
  }

  return { request, json };
}

export function claimsOf(token) {
  // the middle part of a JWT, read (not verified: the server does that); null when it is not one
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const bytes = Uint8Array.from(atob(part + '==='.slice((part.length + 3) % 4)), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    return claims && typeof claims === 'object' ? claims : null;
  } catch (err) {
    return null;
  }
}

export const hasExpired = (claims, now = Date.now()) => typeof claims.exp === 'number' && claims.exp * 1000 <= now;

export function tokenStore(key) {
  // a tab's sign-in: kept in sessionStorage, so it ends with the tab and is never shared with another
  return {
    get: () => sessionStorage.getItem(key) || '',
    set: (token) => sessionStorage.setItem(key, token),
    clear: () => sessionStorage.removeItem(key),
  };
}
