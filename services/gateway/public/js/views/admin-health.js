// Health: circuit breakers across every replica. Reset is offered only for a breaker that is
// not closed (resetting a working one does nothing), and says what it did.

import { api } from '../api.js';
import { plural } from '../dates.js';
import { $, busy, notice, on } from '../dom.js';
import { html, render } from '../html.js';
import { BREAKER_NAME, BREAKER_STATE, explain } from '../words.js';

const HEALTH = { healthy: 'Everything is working.', degraded: 'Some dependencies are failing: their calls fail fast until they recover.' };

export async function healthView(target) {
  render(target, html`<div id="breakers"><p>Loading…</p></div><div id="breaker-result"></div>`);
  const show = async () => {
    const report = await api('GET', '/api/ops/circuit-breakers');
    if (!report.ok) return notice($('#breakers', target), 'bad', explain(report));
    const breakers = Object.entries(report.body.circuit_breakers);
    render(
      $('#breakers', target),
      html`<p id="overall" class="notice ${report.body.overall_health === 'healthy' ? 'ok' : 'bad'}">${HEALTH[report.body.overall_health] ?? report.body.overall_health}</p>
        <div class="table-wrap" role="region" aria-label="Circuit breakers" tabindex="0"><table>
          <caption>Circuit breakers</caption>
          <thead><tr><th scope="col">Dependency</th><th scope="col">State</th><th scope="col" class="number">Failures</th><th scope="col" class="number wide-only">Processes</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
          <tbody>${breakers.map(
            ([
              name,
              b,
            ]) => html`<tr data-breaker="${name}"><th scope="row">${BREAKER_NAME[name] ?? name}</th><td>${BREAKER_STATE[b.state] ?? b.state}</td>
              <td class="number">${b.failure_count}</td><td class="number wide-only">${b.instances?.length ?? 1}</td>
              <td>${b.state === 'closed' ? '' : html`<button type="button" class="secondary" data-reset="${name}" aria-label="Reset: ${BREAKER_NAME[name] ?? name}">Reset</button>`}</td></tr>`,
          )}</tbody></table></div>`,
    );
  };
  on(target, 'click', async (event) => {
    const button = event.target.closest('[data-reset]');
    if (!button) return;
    busy(button, true);
    const answer = await api('POST', `/api/ops/circuit-breakers/${encodeURIComponent(button.dataset.reset)}/reset`);
    const result = $('#breaker-result', target);
    if (!answer.ok) {
      busy(button, false);
      return notice(result, 'bad', explain(answer), { focus: true });
    }
    await show();
    notice(
      result,
      answer.body.state === 'closed' ? 'ok' : 'bad',
      `Reset ${BREAKER_NAME[answer.body.name] ?? answer.body.name} on ${plural(answer.body.reset_instances, 'process', 'processes')}: now ${(BREAKER_STATE[answer.body.state] ?? answer.body.state).toLowerCase()}.`,
      { focus: true },
    );
  });
  await show();
}
