// Light or dark as Cockpit's shell says: it stores the choice (`auto`, `light`, `dark`) in localStorage as
// `shell:style`, and PatternFly's dark theme is the class pf-v6-theme-dark on <html>.

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

/** Applies the shell's theme now and whenever it or the system's preference changes. */
export function followTheme(): void {
  applyTheme();
  window.addEventListener('storage', (e) => {
    if (e.key === 'shell:style') applyTheme();
  });
  window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', applyTheme);
}
