// The pull form's state: the reference typed, the policy chosen, and the StartPull call (the field empties
// once the daemon accepted the pull; its job then shows in the list).
import { type FormEvent, useState } from 'react';
import { useAction } from './use-action.js';
import { usePageActions } from './use-page-actions.js';

/** The pull policies StartPull takes, with their words. */
export const POLICIES = [
  ['missing', 'If missing'],
  ['always', 'Always'],
  ['newer', 'If newer'],
] as const;

/** The form's fields, whether it can be sent, and its submit handler. */
export function usePullForm() {
  const { storage } = usePageActions();
  const [image, setImage] = useState('');
  const [policy, setPolicy] = useState<string>(POLICIES[0][0]);
  const pull = useAction(async (ref: string, how: string) => {
    await storage.startPull(ref, how);
    setImage('');
  });
  const ref = image.trim();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (ref && !pull.busy) void pull.run(ref, policy);
  };
  return { image, setImage, policy, setPolicy, busy: pull.busy, canPull: ref !== '' && !pull.busy, submit };
}
