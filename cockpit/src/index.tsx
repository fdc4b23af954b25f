// Entry point of the page: its styles, Cockpit's light/dark choice, then the React app on the daemon's store.
import './page.css';
import { createRoot } from 'react-dom/client';
import { App } from './components/app.js';
import { DaemonStore } from './daemon-store.js';
import { followTheme } from './theme.js';

function main(): void {
  const root = document.getElementById('app');
  if (root) createRoot(root).render(<App store={new DaemonStore()} />);
}

followTheme();
if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', main);
else main();
