// Settings: the onboarding batch size, the providers' rate limits and the ingest schedule.

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
const SCHEDULE = ['cron', 'time_zone'];

export async function settingsView(target) {
  render(target, html`<form id="config" class="stack" novalidate><p>Loading…</p></form><div id="config-result"></div>`);
  const config = await api('GET', '/api/admin/config');
  const form = $('#config', target);
  if (!config.ok) return notice(form, 'bad', explain(config));
  const { ingest_schedule: schedule, ...numbers } = config.body;
  const zone = schedule?.time_zone ?? Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'UTC';
  render(
    form,
    html`${Object.entries(numbers).map(
      ([key, value]) => html`<div><label for="cfg-${key}">${fieldLabel(key)}</label>
        <input type="number" inputmode="numeric" min="1" max="100000" step="1" required id="cfg-${key}" name="${key}" value="${value}" aria-describedby="cfg-${key}-hint">
        <p class="hint" id="cfg-${key}-hint">${HINTS[key] ?? ''}</p></div>`,
    )}<fieldset class="stack"><legend>Scheduled ingest</legend>
        <div><label for="cfg-cron">${fieldLabel('cron')}</label>
        <input type="text" id="cfg-cron" name="cron" value="${schedule?.cron ?? ''}" placeholder="0 2 * * *" autocomplete="off" spellcheck="false" aria-describedby="cfg-cron-hint">
        <p class="hint" id="cfg-cron-hint">Empty: off. Minute, hour, day, month, weekday (or seconds first); “0 2 * * *” is every night at 2:00. Runs once each time, however many workers there are.</p></div>
        <div><label for="cfg-time_zone">${fieldLabel('time_zone')}</label>
        <input type="text" id="cfg-time_zone" name="time_zone" value="${zone}" autocomplete="off" spellcheck="false" aria-describedby="cfg-time_zone-hint">
        <p class="hint" id="cfg-time_zone-hint">The schedule’s clock, such as America/Argentina/Cordoba or UTC.</p></div>
      </fieldset><div><button type="submit" id="save-config">Save settings</button></div>`,
  );
  on(form, 'submit', async (event) => {
    event.preventDefault();
    const fields = [...new FormData(form)];
    const body = Object.fromEntries(fields.filter(([k]) => !SCHEDULE.includes(k)).map(([k, v]) => [k, v === '' ? undefined : Number(v)]));
    const { cron = '', time_zone = '' } = Object.fromEntries(fields.filter(([k]) => SCHEDULE.includes(k)));
    body.ingest_schedule = cron.trim() ? { cron: cron.trim(), time_zone: time_zone.trim() } : null;
    const button = $('#save-config', target);
    busy(button, true);
    const saved = await api('PUT', '/api/admin/config', { body });
    busy(button, false);
    notice(
      $('#config-result', target),
      saved.ok ? 'ok' : 'bad',
      saved.ok ? 'Saved. Workers use the new settings from their next call.' : explain(saved),
      { focus: true },
    );
  });
}
