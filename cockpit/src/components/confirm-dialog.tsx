// The question before a destructive action (hooks/use-confirm.ts asks it): a small PatternFly modal with a
// danger title, its text, the confirm button (focused) and Cancel. Escape and the close button answer no.
import { Button, Modal, ModalBody, ModalFooter, ModalHeader } from '@patternfly/react-core';
import { _ } from '../gettext.js';
import type { Question } from '../hooks/use-confirm.js';

/** The dialog `id` (its buttons are `id`-confirm and `id`-cancel), open while `question` is set. */
export function ConfirmDialog(props: {
  id: string;
  question: Question | null;
  onAnswer: (ok: boolean) => void;
}) {
  const { id, question, onAnswer } = props;
  if (!question) return null;
  return (
    <Modal
      id={id}
      isOpen
      variant="small"
      aria-labelledby={`${id}-title`}
      onClose={() => onAnswer(false)}
      elementToFocus={`#${id}-confirm`}
    >
      <ModalHeader title={question.title} labelId={`${id}-title`} titleIconVariant="danger" />
      <ModalBody>
        {question.body.map((text) => (
          <p key={text}>{text}</p>
        ))}
      </ModalBody>
      <ModalFooter>
        <Button id={`${id}-confirm`} variant="danger" onClick={() => onAnswer(true)}>
          {question.confirm}
        </Button>
        <Button id={`${id}-cancel`} variant="link" onClick={() => onAnswer(false)}>
          {_('Cancel')}
        </Button>
      </ModalFooter>
    </Modal>
  );
}
