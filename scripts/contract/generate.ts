// Renders the generated files of the contract from the operations table and the error catalogue. Prose a
// person wrote stays where it is: the XML's header is read back from the checked-in file, and only the marked
// tables in it and the interfaces are rewritten; the IDL is rendered whole by the daemon's own renderer
// (src/api/varlink/render-idl.ts, its header in src/api/varlink/storage-idl-header.ts).

import { renderBootcInterfaces } from '../../src/api/dbus/interface-xml.js';
import { renderStorageIdl } from '../../src/api/varlink/render-idl.js';
import { layoutDoc } from '../../src/core/doc-text.js';
import { operationsOf } from '../../src/core/operations.js';
import { createError, ERROR_CATALOGUE, ERROR_NAMES, wireErrorName } from '../../src/errors.js';

export const XML_FILE = 'dbus/org.bootc.Storage.xml';
export const IDL_FILE = 'varlink/org.bootc.Storage.varlink';

const START = '(generated from';
const END = '(end of generated';

/** Replaces the lines between a "(generated from …" line and the next "(end of generated" line. */
function replaceRegion(text: string, name: string, lines: string[]): string {
  const all = text.split('\n');
  const start = all.findIndex((l) => l.includes(START) && l.includes(name));
  const end = all.findIndex((l, i) => i > start && l.includes(END));
  if (start < 0 || end < 0) throw new Error(`${name}: no generated region marked in the header`);
  return [...all.slice(0, start + 1), ...lines, ...all.slice(end)].join('\n');
}

function authorizationTable(): string[] {
  const byAction = new Map<string, string[]>();
  for (const op of operationsOf('dbus')) {
    const action = 'action' in op.access ? op.access.action : 'ownerOr' in op.access ? op.access.ownerOr : '';
    if (!action) continue;
    const label = 'ownerOr' in op.access ? `${op.name} and Job.Cancel on another's job` : op.name;
    byAction.set(action, [...(byAction.get(action) ?? []), label]);
  }
  return [...byAction].flatMap(([action, names]) =>
    layoutDoc(names.join(', '), 84 - 38).map((l, i) => `    ${(i === 0 ? action : '').padEnd(34)}${l}`),
  );
}

function errorList(): string[] {
  const sent = ERROR_NAMES.filter((n) => ERROR_CATALOGUE[n].wire !== 'internal');
  const lines = sent.flatMap((n) => [
    `    ${wireErrorName(createError(n, ''), 'dbus', false)}`,
    ...layoutDoc(ERROR_CATALOGUE[n].description, 84, '        '),
  ]);
  const internal = ERROR_NAMES.filter((n) => ERROR_CATALOGUE[n].wire === 'internal');
  return [
    ...lines,
    ...layoutDoc(
      `Failure names used only inside the daemon (${internal.join(', ')}) are never sent on the bus: during Pull and PullFromHost they are reported as PullFailed, everywhere else as StorageFailure, with the detail in the message text.`,
      84,
      '  ',
    ),
  ];
}

function renderXml(current: string): string {
  const head = current.slice(0, current.indexOf('\n<node>') + 1);
  let header = replaceRegion(head, 'the operations table', authorizationTable());
  header = replaceRegion(header, 'the error catalogue', errorList());
  const { storage, job } = renderBootcInterfaces(true);
  return `${header}<node>\n${storage}\n${job}\n\n</node>\n`;
}

/** Every generated file with the content it must have, given how to read the checked-in ones. */
export function renderContractFiles(read: (path: string) => string): Map<string, string> {
  return new Map([
    [XML_FILE, renderXml(read(XML_FILE))],
    [IDL_FILE, renderStorageIdl()],
  ]);
}
