// The coloured labels of the page: a deployment's role, a job's state, and the short verdicts (present or
// missing, keep or remove, unused), each a PatternFly Label.
import { Label, type LabelProps } from '@patternfly/react-core';
import { stateWord } from '../model.js';

type Color = NonNullable<LabelProps['color']>;

const ROLE_COLORS: Record<string, Color> = {
  booted: 'blue',
  staged: 'purple',
  rollback: 'orange',
  other: 'grey',
  pending: 'teal',
};
const STATE_COLORS: Record<string, Color> = {
  queued: 'grey',
  running: 'blue',
  blocked: 'orange',
  done: 'green',
  failed: 'red',
  canceled: 'orange',
};

/** A deployment's role (booted, staged, rollback, other, pending). */
export function RoleLabel({ role }: { role: string }) {
  return <Label color={ROLE_COLORS[role] ?? 'grey'}>{role}</Label>;
}

/** A job's state in words. */
export function StateLabel({ state }: { state: string }) {
  return (
    <Label color={STATE_COLORS[state] ?? 'grey'} isCompact>
      {stateWord(state)}
    </Label>
  );
}

/** A short verdict in a compact label. */
export function Verdict({ text, color, className }: { text: string; color: Color; className?: string }) {
  return (
    <Label color={color} isCompact className={className}>
      {text}
    </Label>
  );
}
