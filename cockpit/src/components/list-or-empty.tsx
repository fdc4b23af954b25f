// What a section shows before its list is read ("Loading…") and when the list is empty: a small PatternFly
// empty state with the image icon, and why (the load error, when reading failed).
import { EmptyState, EmptyStateBody } from '@patternfly/react-core';
import OsImageIcon from '@patternfly/react-icons/dist/esm/icons/os-image-icon';
import type { ReactNode } from 'react';
import type { ReadState } from '../daemon-store.js';
import { _ } from '../gettext.js';
import { Muted } from './text-bits.js';

/**
 * The list (children) once read and not empty; otherwise "Loading…", or an empty state `title` that says why:
 * the load error, or `why` when the store was read.
 */
export function ListOrEmpty(props: {
  read: ReadState;
  empty: boolean;
  title: string;
  why: string;
  children: ReactNode;
}) {
  const { read, empty, title, why, children } = props;
  if (!read.loaded) return <Muted>{_('Loading…')}</Muted>;
  if (!empty) return children;
  return (
    <EmptyState variant="xs" titleText={title} headingLevel="h3" icon={OsImageIcon}>
      <EmptyStateBody>{read.loadError ?? why}</EmptyStateBody>
    </EmptyState>
  );
}
