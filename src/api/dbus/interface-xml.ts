// Renders the two bootc interfaces as introspection XML, from members.ts (and so from the operations table):
// bare for the live Introspect() answer, with every doc comment for dbus/org.bootc.Storage.xml.

import { layoutDoc } from '../../core/doc-text.js';
import { findOperation } from '../../core/operations.js';
import {
  type Arg,
  JOB_IFACE,
  JOB_METHODS,
  JOB_PATH_PREFIX,
  JOB_PROPERTIES,
  type MethodDef,
  type PropertyDef,
  STORAGE_IFACE,
  STORAGE_METHODS,
  STORAGE_PATH,
  STORAGE_PROPERTIES,
  STORAGE_SIGNALS,
} from './members.js';

const EMITS = 'org.freedesktop.DBus.Property.EmitsChangedSignal';
/** Authorization errors every checked method can answer with on D-Bus. */
const AUTH_ERRORS = ['AccessDenied', 'InteractiveAuthorizationRequired'];
const WIDTH = 88;

function comment(lines: string[], indent: string, docs: boolean): string[] {
  if (!docs || lines.length === 0) return [];
  const text = lines.map((l) => l.replace(/--/g, '- -'));
  if (text.length === 1 && text[0]!.length + indent.length + 9 <= WIDTH + 12)
    return [`${indent}<!-- ${text[0]} -->`];
  return [`${indent}<!--`, ...text.map((l) => (l ? `${indent}  ${l}` : '')), `${indent}-->`];
}

function argDoc(a: Arg, indent: string, docs: boolean): string[] {
  if (!a.doc) return [];
  const lines = layoutDoc(`${a.name}: ${a.doc}`, WIDTH - indent.length - 2);
  return comment(lines, indent, docs);
}

/** The prose of a method: its doc, the polkit action it checks, and the errors it can answer with. */
function methodDoc(name: string, def: MethodDef): string[] {
  const op = findOperation(def.sameAs ?? name);
  const w = WIDTH - 6;
  if (!op) return def.doc ? layoutDoc(`${name}: ${def.doc}`, w) : [];
  const own = def.sameAs ? (def.doc ?? '') : `${op.doc}${op.dbusDoc ? ` ${op.dbusDoc}` : ''}`;
  const lines = layoutDoc(`${name}: ${own}`, w);
  lines.push(
    'action' in op.access
      ? `polkit action: ${op.access.action}`
      : 'ownerOr' in op.access
        ? `polkit action: none for a job one submitted or joined; ${op.access.ownerOr} for anyone else's job`
        : 'polkit action: none',
  );
  lines.push(...layoutDoc(`Errors: ${[...op.errors, ...AUTH_ERRORS].join(', ')}`, w));
  return lines;
}

function interfaceXml(
  name: string,
  methods: Readonly<Record<string, MethodDef>>,
  signals: Readonly<Record<string, { doc: string; args: Arg[] }>>,
  props: Readonly<Record<string, PropertyDef>>,
  docs: boolean,
): string[] {
  const i2 = '    ';
  const i3 = `${i2}  `;
  const lines = [`  <interface name="${name}">`];
  for (const [m, def] of Object.entries(methods)) {
    if (docs) lines.push('', ...comment(methodDoc(m, def), i2, docs));
    const args = [...def.in.map((a) => ({ a, dir: 'in' })), ...def.out.map((a) => ({ a, dir: 'out' }))];
    if (args.length === 0) {
      lines.push(`${i2}<method name="${m}"/>`);
      continue;
    }
    lines.push(`${i2}<method name="${m}">`);
    for (const { a, dir } of args) {
      lines.push(...argDoc(a, i3, docs), `${i3}<arg name="${a.name}" type="${a.type}" direction="${dir}"/>`);
    }
    lines.push(`${i2}</method>`);
  }
  for (const [s, sig] of Object.entries(signals)) {
    if (docs) lines.push('', ...comment(layoutDoc(`${s}: ${sig.doc}`, WIDTH - 6), i2, docs));
    lines.push(`${i2}<signal name="${s}">`);
    for (const a of sig.args)
      lines.push(...argDoc(a, i3, docs), `${i3}<arg name="${a.name}" type="${a.type}"/>`);
    lines.push(`${i2}</signal>`);
  }
  for (const [p, def] of Object.entries(props)) {
    if (docs) lines.push('', ...comment(layoutDoc(`${p}: ${def.doc ?? ''}`, WIDTH - 6), i2, docs));
    lines.push(
      `${i2}<property name="${p}" type="${def.type}" access="read">`,
      `${i3}<annotation name="${EMITS}" value="${def.emits}"/>`,
      `${i2}</property>`,
    );
  }
  if (docs) lines.push('');
  lines.push('  </interface>');
  return lines;
}

/** The org.bootc.Storage and org.bootc.Storage.Job interfaces; `docs` adds every comment. */
export function renderBootcInterfaces(docs: boolean): { storage: string; job: string } {
  const storageComment = docs
    ? ['', '  <!-- org.bootc.Storage: the image store itself, on /org/bootc/Storage. -->']
    : [];
  const jobComment = docs
    ? [
        '',
        '  <!--',
        '    org.bootc.Storage.Job: one queued or running job. Implemented by the child',
        '    objects /org/bootc/Storage/job/<id>, never by /org/bootc/Storage itself.',
        '    Announced by JobNew, retired by JobRemoved. Every property is read-only and',
        '    announces its changes with org.freedesktop.DBus.Properties.PropertiesChanged.',
        '  -->',
      ]
    : [];
  return {
    storage: [
      ...storageComment,
      ...interfaceXml(STORAGE_IFACE, STORAGE_METHODS, STORAGE_SIGNALS, STORAGE_PROPERTIES, docs),
    ].join('\n'),
    job: [...jobComment, ...interfaceXml(JOB_IFACE, JOB_METHODS, {}, JOB_PROPERTIES, docs)].join('\n'),
  };
}

const STANDARD = `  <interface name="org.freedesktop.DBus.Introspectable">
    <method name="Introspect"><arg name="xml_data" type="s" direction="out"/></method>
  </interface>
  <interface name="org.freedesktop.DBus.Peer">
    <method name="Ping"/>
    <method name="GetMachineId"><arg name="machine_uuid" type="s" direction="out"/></method>
  </interface>
  <interface name="org.freedesktop.DBus.Properties">
    <method name="Get"><arg name="interface_name" type="s" direction="in"/><arg name="property_name" type="s" direction="in"/><arg name="value" type="v" direction="out"/></method>
    <method name="GetAll"><arg name="interface_name" type="s" direction="in"/><arg name="props" type="a{sv}" direction="out"/></method>
    <method name="Set"><arg name="interface_name" type="s" direction="in"/><arg name="property_name" type="s" direction="in"/><arg name="value" type="v" direction="in"/></method>
    <signal name="PropertiesChanged"><arg name="interface_name" type="s"/><arg name="changed_properties" type="a{sv}"/><arg name="invalidated_properties" type="as"/></signal>
  </interface>
`;

/** The storage object also manages the job objects (org.freedesktop.DBus.ObjectManager). */
const OBJECT_MANAGER = `  <interface name="org.freedesktop.DBus.ObjectManager">
    <method name="GetManagedObjects"><arg name="object_paths_interfaces_and_properties" type="a{oa{sa{sv}}}" direction="out"/></method>
    <signal name="InterfacesAdded"><arg name="object_path" type="o"/><arg name="interfaces_and_properties" type="a{sa{sv}}"/></signal>
    <signal name="InterfacesRemoved"><arg name="object_path" type="o"/><arg name="interfaces" type="as"/></signal>
  </interface>
`;

const DOCTYPE =
  '<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">';

const BARE = renderBootcInterfaces(false);

/** Introspection XML for an object path: its interfaces (if any) and child nodes. */
export function introspect(path: string, children: string[]): string {
  let ifaces = '';
  if (path === STORAGE_PATH) ifaces = STANDARD + OBJECT_MANAGER + BARE.storage;
  else if (path.startsWith(JOB_PATH_PREFIX)) ifaces = STANDARD + BARE.job;
  const nodes = children.map((c) => `  <node name="${c}"/>`).join('\n');
  return `${DOCTYPE}\n<node>\n${ifaces}\n${nodes}\n</node>\n`;
}
