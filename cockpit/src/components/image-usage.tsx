// Who needs an image, one line each: a deployment that binds it (and the file that does), the deployment it is
// the host image of, or "Unused".
import { _ } from '../gettext.js';
import type { Usage } from '../model.js';
import { Verdict } from './labels.js';
import { DeploymentName, Muted } from './text-bits.js';

function UsageLine({ usage: u }: { usage: Usage }) {
  if (u.kind === 'unused') return <Verdict text={_('Unused')} color="orange" className="bsp-unused" />;
  if (u.kind === 'host') {
    return (
      <span>
        {_('host image of ')}
        <DeploymentName name={u.deployment} />
      </span>
    );
  }
  const file = u.file.split('/').at(-1) ?? u.file;
  return (
    <span title={u.file}>
      <DeploymentName name={u.deployment} /> ({file})
    </span>
  );
}

/** The uses of one image (a dash when nothing is known). */
export function ImageUsage({ uses }: { uses: Usage[] }) {
  if (uses.length === 0) return <Muted>—</Muted>;
  return (
    <ul className="bsp-usage">
      {uses.map((u) => (
        <li key={u.kind === 'unused' ? 'unused' : `${u.kind} ${u.deployment}`}>
          <UsageLine usage={u} />
        </li>
      ))}
    </ul>
  );
}
