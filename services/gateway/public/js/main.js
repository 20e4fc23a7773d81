// Cupo's web UI: plain ES modules, no build step, nothing from a CDN. Every page calls the
// public API (openapi.yaml) with the signed-in user's token. This file routes between pages
// and shows each role only the pages it may use.

import { LeftPage, enterPage } from './api.js';
import { $, focusOn, on, say } from './dom.js';
import { html, render } from './html.js';
import { PAGES, homeOf, mayUse, pageOf, role, session, signOut } from './session.js';
import { adminView } from './views/admin.js';
import { bookingsView } from './views/bookings.js';
import { coursesView } from './views/courses.js';
import { enrollView } from './views/enroll.js';
import { reportsView } from './views/reports.js';
import { roomsView } from './views/rooms.js';
import { signInView } from './views/signin.js';

const VIEWS = {
  '#/signin': signInView,
  '#/rooms': roomsView,
  '#/bookings': bookingsView,
  '#/enroll': enrollView,
  '#/courses': coursesView,
  '#/reports': reportsView,
  '#/admin': adminView,
};

const currentHash = () => (location.hash.startsWith('#/') ? location.hash : '#/rooms');

function renderHeader(page) {
  const who = session();
  const links = PAGES.filter((p) => p.roles.includes(who?.role ?? null));
  render(
    $('#nav'),
    html`<ul>${links.map(
      (p) =>
        html`<li><a href="${p.hash}" aria-current="${p.hash === page ? 'page' : 'false'}">${
          p.hash === '#/bookings' && who?.role === 'admin' ? 'Bookings' : p.label
        }</a></li>`,
    )}</ul>`,
  );
  render(
    $('#who'),
    who
      ? html`<span>Signed in as <strong>${who.sub}</strong> (${who.role})</span>
          <button type="button" class="secondary" id="sign-out">Sign out</button>`
      : html`<a class="button" href="#/signin?next=${encodeURIComponent(page === '#/signin' ? '#/rooms' : currentHash())}">Sign in</a>`,
  );
}

async function route() {
  const hash = currentHash();
  const page = pageOf(hash);
  const signal = enterPage();
  say('');
  renderHeader(page);
  const main = $('#main');
  const label = PAGES.find((p) => p.hash === page)?.label ?? (page === '#/signin' ? 'Sign in' : 'Not found');
  document.title = `${label} · Cupo`;
  const params = new URLSearchParams(hash.split('?')[1] || '');
  let view = VIEWS[page];
  if (!view) view = notFound;
  else if (!mayUse(hash))
    view = session()
      ? notForYou
      : (target) => signInView(target, { params: new URLSearchParams({ next: hash }), reason: 'Sign in to see this page.' });
  try {
    // Views draw their heading before their first await: focus goes there at once, so
    // keyboard and screen-reader users start at the top of the new page.
    const running = view(main, { params, hash, signal });
    main.dataset.page = hash;
    if (!main.contains(document.activeElement)) focusOn($('h2', main));
    await running;
  } catch (error) {
    if (error instanceof LeftPage || signal.aborted) return;
    render(
      main,
      html`<h2>Something went wrong</h2><div class="notice bad" role="alert">${error.message}. Reload the page to try again.</div>`,
    );
  }
}

function notFound(main) {
  render(main, html`<h2>Page not found</h2><p><a class="button" href="${homeOf()}">Go to the start page</a></p>`);
}

function notForYou(main) {
  const names = { admin: 'administrators', student: 'students' };
  const needed = PAGES.find((p) => p.hash === pageOf(currentHash()))
    ?.roles.filter((r) => r && r !== role())
    .at(-1);
  render(
    main,
    html`<h2>Not available to you</h2>
      <p>This page is for ${names[needed] ?? 'other users'}; you are signed in as a ${role()}.</p>
      <p><a class="button" href="${homeOf()}">Go to your start page</a></p>`,
  );
}

on(document, 'click', (event) => {
  if (event.target.closest('#sign-out')) {
    signOut();
    say('You are signed out.');
    if (mayUse(currentHash(), null)) route();
    else location.hash = '#/rooms';
  } else if (event.target.closest('.skip')) {
    event.preventDefault();
    focusOn($('#main h2') ?? $('#main'));
  }
});
document.addEventListener('cupo:signed-out', () => {
  say('Your sign-in has expired. Sign in again to carry on.');
  renderHeader(pageOf(currentHash()));
});
document.addEventListener('cupo:waiting', (event) => {
  say(event.detail ? `The server asked us to slow down; trying again in ${event.detail} s.` : '');
});
// No form of this UI is ever sent by the browser itself: each view handles its own, and one
// submitted before its view has finished loading must not reload the page.
document.addEventListener('submit', (event) => event.preventDefault(), true);
window.addEventListener('hashchange', () => {
  if (location.hash.startsWith('#/')) route();
});
// Work still running when its page was left stops with LeftPage: that is not an error.
window.addEventListener('unhandledrejection', (event) => {
  if (event.reason instanceof LeftPage) event.preventDefault();
});
route();
