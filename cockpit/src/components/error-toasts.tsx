// The errors of the user's actions as toasts, seen wherever the page is scrolled to; each names the D-Bus
// error in data-error-name and closes with its button.
import { Alert, AlertActionCloseButton, AlertGroup } from '@patternfly/react-core';
import type { ErrorAlert } from '../hooks/use-alerts.js';

/** The toast group (#alerts) with one danger alert per failure. */
export function ErrorToasts({ alerts, onClose }: { alerts: ErrorAlert[]; onClose: (id: number) => void }) {
  return (
    <AlertGroup isToast isLiveRegion id="alerts">
      {alerts.map((a) => (
        <Alert
          key={a.id}
          id={`alert-${a.id}`}
          data-error-name={a.errorName}
          variant="danger"
          title={a.title}
          actionClose={<AlertActionCloseButton onClose={() => onClose(a.id)} />}
        />
      ))}
    </AlertGroup>
  );
}
