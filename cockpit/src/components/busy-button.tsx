// A PatternFly button for an action that calls the daemon: while busy it shows a spinner and cannot be
// pressed again.
import { Button, type ButtonProps } from '@patternfly/react-core';
import { _ } from '../gettext.js';

/** A button with a busy state (spinner, disabled). */
export function BusyButton({ busy, ...props }: ButtonProps & { busy: boolean; 'data-action'?: string }) {
  return (
    <Button
      {...props}
      isLoading={busy}
      isDisabled={busy || props.isDisabled}
      spinnerAriaValueText={_('Loading…')}
    />
  );
}
