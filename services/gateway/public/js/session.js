// Who is signed in: the development sign-in's token, kept in this browser until it expires
// or the user signs out. Which pages each role may use lives here, once.

const KEY = 'cupo.session';

/** The pages of the UI; `roles` says who sees each (null: not signed in). */
export const PAGES = [
  { hash: '#/rooms', label: 'Rooms', roles: [null, 'guest', 'student', 'admin'] },
  { hash: '#/bookings', label: 'My bookings', roles: ['guest', 'student', 'admin'] },
  { hash: '#/enroll', label: 'Enroll', roles: ['student'] },
  { hash: '#/courses', label: 'My courses', roles: ['student'] },
  { hash: '#/reports', label: 'Reports', roles: ['guest', 'student', 'admin'] },
  { hash: '#/admin', label: 'Admin', roles: ['admin'] },
];

const ROLE_HOME = { guest: '#/rooms', student: '#/enroll', admin: '#/admin' };

/** The token's claims, without checking the signature (the gateway does that). */
function claimsOf(token) {
  try {
    const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(payload));
  } catch {
    return {};
  }
}

export function session() {
  let saved;
  try {
    saved = JSON.parse(localStorage.getItem(KEY) || 'null');
  } catch {
    saved = null;
  }
  if (!saved?.token) return null;
  const { exp } = claimsOf(saved.token);
  if (typeof exp === 'number' && exp * 1000 <= Date.now()) {
    localStorage.removeItem(KEY);
    return null;
  }
  return saved;
}

export const role = () => session()?.role ?? null;

export function signIn(answer) {
  localStorage.setItem(KEY, JSON.stringify({ token: answer.token, sub: answer.sub, role: answer.role }));
}

export function signOut() {
  localStorage.removeItem(KEY);
}

/** The page part of a hash (`#/admin/tasks?type=batch` → `#/admin`). */
export const pageOf = (hash) => `#/${(hash || '').replace(/^#\/?/, '').split(/[/?]/)[0]}`;

export function mayUse(hash, who = role()) {
  if (pageOf(hash) === '#/signin') return true;
  const page = PAGES.find((p) => p.hash === pageOf(hash));
  return Boolean(page && page.roles.includes(who));
}

export const homeOf = (who = role()) => ROLE_HOME[who] ?? '#/rooms';
