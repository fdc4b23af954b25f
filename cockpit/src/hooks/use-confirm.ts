// A question before a destructive action, asked as a promise (`if (await ask(…))`) and shown by
// components/confirm-dialog.tsx while it waits for an answer.
import { useCallback, useEffect, useRef, useState } from 'react';

/** What the dialog asks: its title, its text (paragraphs) and the confirm button's words. */
export interface Question {
  title: string;
  body: string[];
  confirm: string;
}

/** `ask` opens the dialog and resolves with the answer; `question` and `answer` are for the dialog. */
export function useConfirm(): {
  ask: (q: Question) => Promise<boolean>;
  question: Question | null;
  answer: (ok: boolean) => void;
} {
  const [question, setQuestion] = useState<Question | null>(null);
  const pending = useRef<((ok: boolean) => void) | null>(null);
  const ask = useCallback(
    (q: Question) =>
      new Promise<boolean>((resolve) => {
        pending.current?.(false);
        pending.current = resolve;
        setQuestion(q);
      }),
    [],
  );
  const answer = useCallback((ok: boolean) => {
    pending.current?.(ok);
    pending.current = null;
    setQuestion(null);
  }, []);
  // A row that goes while its dialog is open (another client removed the image) answers "no".
  useEffect(() => () => pending.current?.(false), []);
  return { ask, question, answer };
}
