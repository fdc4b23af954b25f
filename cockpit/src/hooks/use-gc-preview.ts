// Garbage collection's state: the preview the user asked for (kept up to date: after the store is read again
// it shows the daemon's latest answer), and the run, asked for with a confirmation of how many images go.
import { useState } from 'react';
import { _ } from '../gettext.js';
import { gcQuestion, type PreviewEntry } from '../model.js';
import { useAction } from './use-action.js';
import type { Question } from './use-confirm.js';
import { usePageActions } from './use-page-actions.js';

/** The preview shown (null: not asked for), Preview and Run with their busy states. */
export function useGcPreview(latest: PreviewEntry[], ask: (q: Question) => Promise<boolean>) {
  const { storage } = usePageActions();
  // What PreviewGarbageCollect answered, and the store's preview it was asked against.
  const [asked, setAsked] = useState<{ entries: PreviewEntry[]; against: PreviewEntry[] } | null>(null);
  const shown = asked ? (asked.against === latest ? asked.entries : latest) : null;
  const preview = useAction(async () => {
    const against = latest;
    setAsked({ entries: await storage.preview(), against });
  });
  const collect = useAction(() => storage.startGarbageCollect());
  const run = async () => {
    const known = shown ?? (await storage.preview().catch(() => null));
    const ok = await ask({
      title: _('Run garbage collection?'),
      body: [gcQuestion(known, _)],
      confirm: _('Remove unreferenced images'),
    });
    if (ok) await collect.run();
  };
  return { shown, preview, run, running: collect.busy };
}
