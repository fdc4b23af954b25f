// Small pieces of text the sections share: subdued words, a deployment's short name (the full one on hover),
// an image's names, one per line.
import type { ReactNode } from 'react';
import { shortDeployment } from '../model.js';

/** Secondary text (none, loading, placeholders). */
export function Muted({ children }: { children: ReactNode }) {
  return <span className="bsp-muted">{children}</span>;
}

/** `<checksum>.<serial>` shortened, in monospace, the whole name as its title. */
export function DeploymentName({ name }: { name: string }) {
  return (
    <span className="bsp-mono" title={name}>
      {shortDeployment(name)}
    </span>
  );
}

/** An image's names, one per line; `fallback` when it has none. */
export function ImageNames({ names, fallback }: { names: string[]; fallback: ReactNode }) {
  if (names.length === 0) return fallback;
  return names.map((n) => (
    <div className="bsp-ref" key={n}>
      {n}
    </div>
  ));
}
