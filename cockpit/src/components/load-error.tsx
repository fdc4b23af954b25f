// Why the store cannot be read, at the top of the page, with Try again (another read).
import { Alert, Button } from '@patternfly/react-core';
import { _ } from '../gettext.js';

/** The read's failure in words, and a button to read again. */
export function LoadError({ message, onRetry }: { message: string; onRetry: () => void }) {
  return (
    <Alert
      id="load-error"
      variant="danger"
      isInline
      title={`${_('Cannot read the image store')}: ${message}`}
    >
      <Button variant="link" isInline onClick={onRetry}>
        {_('Try again')}
      </Button>
    </Alert>
  );
}
