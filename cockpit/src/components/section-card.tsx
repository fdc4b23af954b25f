// One section of the page: a PatternFly card named by its title (the section's id is the tests' and the
// links' handle), with an optional description and actions in its header, and its body.
import { Card, CardBody, CardHeader, CardTitle } from '@patternfly/react-core';
import type { ReactNode } from 'react';

/** A section card: `id` names it, its title is an h2. */
export function SectionCard(props: {
  id: string;
  title: string;
  description?: string;
  actions?: ReactNode;
  children: ReactNode;
}) {
  const { id, title, description, actions, children } = props;
  return (
    <Card id={id} component="section" aria-labelledby={`${id}-title`}>
      <CardHeader actions={actions ? { actions, hasNoOffset: true } : undefined} hasWrap>
        <CardTitle component="h2" subtitle={description}>
          {title}
        </CardTitle>
      </CardHeader>
      <CardBody>{children}</CardBody>
    </Card>
  );
}
