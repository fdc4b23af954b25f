// The page's tables: PatternFly's compact table that turns into a grid of labelled cells when its container is
// narrow (gridBreakPoint grid-md follows the width of the pf-v6-contain-table container the wrapper makes).
import { Table, Tbody, Th, Thead, Tr } from '@patternfly/react-table';
import type { ReactNode } from 'react';

/** A column: its title, and its width (percent) or that it holds the row's actions (no visible title). */
export interface Column {
  title: string;
  width?: 10 | 15 | 25 | 30 | 40;
  action?: boolean;
}

/** A responsive table with a header row of `columns`; the rows are its children. */
export function SectionTable({
  label,
  columns,
  children,
}: {
  label: string;
  columns: Column[];
  children: ReactNode;
}) {
  return (
    <div className="bsp-table">
      <Table aria-label={label} variant="compact" gridBreakPoint="grid-md">
        <Thead>
          <Tr>
            {columns.map((c) =>
              c.action ? (
                <Th key={c.title} screenReaderText={c.title} />
              ) : (
                <Th key={c.title} width={c.width}>
                  {c.title}
                </Th>
              ),
            )}
          </Tr>
        </Thead>
        <Tbody>{children}</Tbody>
      </Table>
    </div>
  );
}
