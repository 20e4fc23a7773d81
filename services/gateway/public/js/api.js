// The public API (openapi.yaml) as the UI uses it: the signed-in user's token on every call,
// problem+json answers kept whole, lists followed through their `Link: <…>; rel="next"`, and
// 429s waited out as their Retry-After asks. Every request belongs to the page that made it:
// leaving the page aborts it, and its view stops (LeftPage) instead of painting over the next.

import { session, signOut } from './session.js';

/** Thrown into a view's code when the user has moved to another page meanwhile. */
export class LeftPage extends Error {
  constructor() {
    super('left the page');
    this.name = 'LeftPage';
  }
}

let scope = new AbortController();

/** Starts a new page: whatever the last one still had in flight is abandoned. */
export function enterPage() {
  scope.abort();
  scope = new AbortController();
  return scope.signal;
}

export const pageSignal = () => scope.signal;

/** Waits, or throws LeftPage as soon as the page is left. */
export function sleep(ms, signal = scope.signal) {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new LeftPage());
    const stop = () => {
      clearTimeout(timer);
      reject(new LeftPage());
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', stop);
      resolve();
    }, ms);
    signal.addEventListener('abort', stop, { once: true });
  });
}

/** The next page's address from a Link header, if there is one. */
export function nextLink(header) {
  return /<([^>]+)>\s*;\s*rel="?next"?/.exec(header || '')?.[1];
}

const GET_RETRIES_ON_429 = 3;

/**
 * One call. Resolves to {status, ok, body, next, retryAfter} whatever the status; rejects only
 * with LeftPage. A GET refused with 429 is tried again after Retry-After (a few times).
 */
export async function api(method, path, { body, headers = {}, signal = scope.signal } = {}) {
  for (let attempt = 0; ; attempt++) {
    const answer = await once(method, path, body, headers, signal);
    if (answer.status !== 429 || method !== 'GET' || attempt >= GET_RETRIES_ON_429) return answer;
    document.dispatchEvent(new CustomEvent('cupo:waiting', { detail: answer.retryAfter }));
    await sleep(answer.retryAfter * 1000, signal);
    document.dispatchEvent(new CustomEvent('cupo:waiting', { detail: 0 }));
  }
}

async function once(method, path, body, extraHeaders, signal) {
  const headers = { accept: 'application/json', ...extraHeaders };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const who = session();
  if (who) headers.authorization = `Bearer ${who.token}`;
  let response;
  let text;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
    text = await response.text();
  } catch {
    if (signal.aborted) throw new LeftPage();
    return { status: 0, ok: false, body: {}, next: undefined, retryAfter: 5 };
  }
  if (signal.aborted) throw new LeftPage();
  let data;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = text;
  }
  if (response.status === 401 && who) {
    // The token expired or was refused: the user is signed out, and told so.
    signOut();
    document.dispatchEvent(new CustomEvent('cupo:signed-out', { detail: 'expired' }));
  }
  const retryAfter = Math.min(60, Math.max(1, Number(response.headers.get('retry-after')) || 5));
  return { status: response.status, ok: response.ok, body: data, next: nextLink(response.headers.get('link')), retryAfter };
}

/**
 * A list read a page at a time: `more()` fetches the next page the server named. Views show
 * what they have and offer "Load more" while `done` is false; nothing assumes one response
 * holds the whole list.
 */
export function pager(firstUrl) {
  let next = firstUrl;
  return {
    get done() {
      return next === undefined;
    },
    async more() {
      const answer = await api('GET', next);
      if (answer.ok) next = answer.next;
      return answer;
    },
  };
}

/** A whole list (for views that must see all of it, e.g. to filter), at most `maxPages` pages. */
export async function everything(url, maxPages = 20) {
  const list = pager(url);
  const items = [];
  for (let page = 0; page < maxPages && !list.done; page++) {
    const answer = await list.more();
    if (!answer.ok) return answer;
    items.push(...answer.body);
  }
  return { status: 200, ok: true, body: items, complete: list.done };
}

/** A fresh Idempotency-Key: one per thing the user asked for, so a retried request is not done twice. */
export function freshKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `ui-${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}
