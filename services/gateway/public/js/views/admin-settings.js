// Settings: the onboarding batch size and the providers' rate limits.

import { api } from '../api.js';
import { $, busy, notice, on } from '../dom.js';
import { html, render } from '../html.js';
import { explain, fieldLabel } from '../words.js';

const HINTS = {
  batch_size: 'Students per batch; each batch is one job.',
  rate_limit_directory_per_min: 'Calls to the directory (accounts), across all workers.',
  rate_limit_lms_per_min: 'Calls to the LMS, across all workers.',
  rate_limit_email_per_min: 'Welcome e-mails sent, across all workers.',
};

export async function settingsView(target) {
  render(target, html`<form id="config" class="stack" novalidate><p>Loading…</p></form><div id="config-result"></div>`);
  const config = await api('GET', '/api/admin/config');
  const form = $('#config', target);
  if (!config.ok) return notice(form, 'bad', explain(config));
  render(
    form,
    html`${Object.entries(config.body).map(
      ([key, value]) => html`<div><label for="cfg-${key}">${fieldLabel(key)}</label>
        <input type="number" inputmode="numeric" min="1" max="100000" step="1" required id="cfg-${key}" name="${key}" value="${value}" aria-describedby="cfg-${key}-hint">
        <p class="hint" id="cfg-${key}-hint">${HINTS[key] ?? ''}</p></div>`,
    )}<div><button type="submit" id="save-config">Save settings</button></div>`,
  );
  on(form, 'submit', async (event) => {
    event.preventDefault();
    const body = Object.fromEntries([...new FormData(form)].map(([k, v]) => [k, v === '' ? undefined : Number(v)]));
    const button = $('#save-config', target);
    busy(button, true);
    const saved = await api('PUT', '/api/admin/config', { body });
    busy(button, false);
    notice($('#config-result', target), saved.ok ? 'ok' : 'bad', saved.ok ? 'Saved. Workers use the new settings from their next call.' : explain(saved), { focus: true });
  });
}
