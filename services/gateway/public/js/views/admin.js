// Admin: onboarding (with its live progress), tasks, sagas, system health and settings, each
// its own sub-page so a visit asks only for what it shows.

import { html, render } from '../html.js';
import { healthView } from './admin-health.js';
import { onboardingView } from './admin-onboarding.js';
import { sagasView } from './admin-sagas.js';
import { settingsView } from './admin-settings.js';
import { tasksView } from './admin-tasks.js';

const SUBPAGES = [
  { path: '', label: 'Onboarding', view: onboardingView },
  { path: 'tasks', label: 'Tasks', view: tasksView },
  { path: 'sagas', label: 'Sagas', view: sagasView },
  { path: 'health', label: 'Health', view: healthView },
  { path: 'settings', label: 'Settings', view: settingsView },
];

export async function adminView(main, context) {
  const path = context.hash.split('?')[0].split('/')[2] ?? '';
  const page = SUBPAGES.find((p) => p.path === path) ?? SUBPAGES[0];
  render(
    main,
    html`<h2>Admin: ${page.label}</h2>
      <nav aria-label="Admin" class="subnav"><ul>${SUBPAGES.map(
        (p) => html`<li><a href="#/admin${p.path ? `/${p.path}` : ''}" aria-current="${p === page ? 'page' : 'false'}">${p.label}</a></li>`,
      )}</ul></nav>
      <div id="admin-page"></div>`,
  );
  await page.view(main.querySelector('#admin-page'), context);
}
