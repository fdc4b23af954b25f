// Renders org.bootc.Storage's interface description from the operations table: the hand-written header, then
// the struct types, one method per operation, and one error per public catalogue name. The one renderer: the
// daemon calls it at the first GetInterfaceDescription (storage-interface.ts), scripts/generate-contract.mjs
// writes its text to varlink/org.bootc.Storage.varlink.

import { type Field, type Operation, varlinkName } from '../../core/contract.js';
import { layoutDoc } from '../../core/doc-text.js';
import { STREAMED_FIELDS } from '../../core/job-fields.js';
import { operationsOf } from '../../core/operations.js';
import { VARLINK_TYPES } from '../../core/wire-types.js';
import { ERROR_CATALOGUE, WIRE_ERROR_NAMES } from '../../errors.js';
import { STORAGE_IDL_HEADER } from './storage-idl-header.js';

/** The Varlink interface every operation is a method of. */
export const VARLINK_INTERFACE = 'org.bootc.Storage';

const WIDTH = 110;

const doc = (text: string, indent = '') => layoutDoc(text, WIDTH, `${indent}# `).map((l) => l.trimEnd());

function fields(list: readonly Field[]): string[] {
  return list.flatMap((f, i) => [
    ...doc(f.doc, '  '),
    `  ${varlinkName(f)}: ${f.optional ? '?' : ''}${f.type.varlink}${i < list.length - 1 ? ',' : ''}`,
  ]);
}

function block(head: string, list: readonly Field[]): string {
  return list.length === 0 ? `${head}()` : [`${head}(`, ...fields(list), ')'].join('\n');
}

/** A streaming method's output: the job and its progress fields, then its own (present in the final reply). */
function outputs(op: Operation): readonly Field[] {
  if (!op.streams) return op.out;
  const job: Field = {
    name: 'job',
    type: { dbus: 'u', varlink: 'int' },
    doc: 'The job doing the work (CancelJob takes it).',
  };
  return [job, ...STREAMED_FIELDS, ...op.out.map((f) => ({ ...f, optional: true }))];
}

function methodText(op: Operation): string {
  const access =
    'action' in op.access
      ? `polkit action: ${op.access.action}.`
      : 'ownerOr' in op.access
        ? `polkit action: none for a job one submitted or joined; ${op.access.ownerOr} for anyone else's job.`
        : 'polkit action: none.';
  const errors = [...op.errors, 'org.varlink.service.PermissionDenied (polkit refused)'];
  const text = `${op.doc}${op.varlinkDoc ? `\n\n${op.varlinkDoc}` : ''}\n\n${access} Errors: ${errors.join(', ')}.`;
  return [...doc(text), `${block(`method ${op.name}`, op.in)} -> ${block('', outputs(op)).trimStart()}`].join(
    '\n',
  );
}

/** The IDL after `interface org.bootc.Storage`. */
function renderIdlBody(): string {
  const parts: string[] = [];
  for (const t of VARLINK_TYPES) parts.push([...doc(t.doc), block(`type ${t.name} `, t.fields)].join('\n'));
  for (const op of operationsOf('varlink')) parts.push(methodText(op));
  for (const name of WIRE_ERROR_NAMES) {
    parts.push(
      [
        ...doc(ERROR_CATALOGUE[name].description),
        `error ${name} (`,
        '  # Human-readable detail.',
        '  message: string',
        ')',
      ].join('\n'),
    );
  }
  return `${parts.join('\n\n')}\n`;
}

/** The whole interface description, as GetInterfaceDescription answers and varlink/org.bootc.Storage.varlink holds. */
export function renderStorageIdl(): string {
  return `${STORAGE_IDL_HEADER}interface ${VARLINK_INTERFACE}\n\n${renderIdlBody()}`;
}
