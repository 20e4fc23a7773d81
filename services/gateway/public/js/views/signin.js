// The development sign-in: pick a user id and a role; the gateway signs a token for it
// (only where DEV_LOGIN_ENABLED is set). Afterwards the user lands back where they were.

import { api } from '../api.js';
import { $, busy, focusOn, notice, on } from '../dom.js';
import { html, render } from '../html.js';
import { homeOf, mayUse, session, signIn } from '../session.js';
import { explain } from '../words.js';

const ROLES = [
  { value: 'guest', label: 'Guest (books rooms)' },
  { value: 'student', label: 'Student (enrolls in courses)' },
  { value: 'admin', label: 'Administrator' },
];

export async function signInView(main, { params, reason } = {}) {
  const who = session();
  const next = params?.get('next') ?? '';
  render(
    main,
    html`<h2>Sign in</h2>
      ${reason ? html`<p class="notice info">${reason}</p>` : ''}
      <p>This is the development sign-in: choose who you are. A student's user id is their student id (RA0001 to RA0050 in the sample data).</p>
      <form id="signin" class="stack" novalidate>
        <div><label for="sub">User id</label>
          <input id="sub" name="sub" required autocomplete="username" value="${who?.sub ?? 'guest-1'}" aria-describedby="sub-hint">
          <p class="hint" id="sub-hint">Letters, digits, dots, dashes and underscores.</p></div>
        <div><label for="role">Role</label>
          <select id="role" name="role">${ROLES.map((r) => html`<option value="${r.value}" ${who?.role === r.value ? 'selected' : ''}>${r.label}</option>`)}</select></div>
        <div><button type="submit">Sign in</button></div>
      </form>
      <div id="signin-result"></div>`,
  );
  on($('#signin', main), 'submit', async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const result = $('#signin-result', main);
    const sub = String(form.get('sub')).trim();
    if (!/^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$/.test(sub)) {
      notice(result, 'bad', 'User id must be letters, digits, dots, dashes or underscores, starting with a letter or digit.', {
        focus: true,
      });
      return;
    }
    const button = $('button[type="submit"]', main);
    busy(button, true);
    const answer = await api('POST', '/api/dev/token', { body: { sub, role: form.get('role') } });
    busy(button, false);
    if (!answer.ok) {
      notice(result, 'bad', answer.status === 404 ? 'Sign-in is not enabled on this server.' : explain(answer), { focus: true });
      return;
    }
    signIn(answer.body);
    const target = next && mayUse(next, answer.body.role) ? next : homeOf(answer.body.role);
    if (location.hash === target) window.dispatchEvent(new HashChangeEvent('hashchange'));
    else location.hash = target;
  });
  if (!who) focusOn($('#sub', main));
}
