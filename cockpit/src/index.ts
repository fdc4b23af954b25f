// Entry point of the page: follows Cockpit's light/dark choice, then starts the app.

import './page.css';
import { App } from './app.js';

/** Cockpit's shell stores the style (`auto`, `light`, `dark`) in localStorage as `shell:style`. */
function applyTheme(): void {
  let style = 'auto';
  try {
    style = window.localStorage.getItem('shell:style') ?? 'auto';
  } catch {
    // Storage may be unavailable; follow the system.
  }
  const dark =
    style === 'dark' || (style === 'auto' && window.matchMedia('(prefers-color-scheme: dark)').matches);
  document.documentElement.classList.toggle('pf-v6-theme-dark', dark);
}

applyTheme();
window.addEventListener('storage', (e) => {
  if (e.key === 'shell:style') applyTheme();
});
window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', applyTheme);

function main(): void {
  const root = document.getElementById('app');
  if (root) void new App(root).start();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', main);
else main();
