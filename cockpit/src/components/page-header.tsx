// The page's title, and where the store is and which daemon serves it (the daemon's StorePath and Version).
import { Content, PageSection, Title } from '@patternfly/react-core';
import type { DaemonState } from '../daemon-store.js';
import { _ } from '../gettext.js';

/** The title and the store's location. */
export function PageHeader({ info }: { info: DaemonState['info'] }) {
  return (
    <PageSection variant="secondary" className="bsp-header">
      <Title headingLevel="h1" size="2xl">
        {_('bootc image store')}
      </Title>
      <Content component="p" id="store-info" className="bsp-subtitle">
        {info && (
          <>
            {_('Logically bound images, in ')}
            <code className="bsp-mono">{info.storePath || '?'}</code>
            {info.version ? ` · bootc-storaged ${info.version}` : ''}
          </>
        )}
      </Content>
    </PageSection>
  );
}
