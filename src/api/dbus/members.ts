// The D-Bus wire contract, as data: every method, signal and property with its signature and argument names.
// Introspection is generated from this; a drift test checks it equals dbus/org.bootc.Storage.xml.

export const BUS_NAME = 'org.bootc.Storage';
export const STORAGE_PATH = '/org/bootc/Storage';
export const STORAGE_IFACE = 'org.bootc.Storage';
export const JOB_IFACE = 'org.bootc.Storage.Job';
export const JOB_PATH_PREFIX = '/org/bootc/Storage/job/';
export const ERROR_PREFIX = 'org.bootc.Storage.Error.';

export interface Arg {
  name: string;
  type: string;
}
export interface MethodDef {
  in: Arg[];
  out: Arg[];
}
export interface PropertyDef {
  type: string;
  /** org.freedesktop.DBus.Property.EmitsChangedSignal */
  emits: 'true' | 'const';
}

export const STORAGE_METHODS: Readonly<Record<string, MethodDef>> = {
  Exists: { in: [{ name: 'image', type: 's' }], out: [{ name: 'present', type: 'b' }] },
  List: { in: [], out: [{ name: 'images', type: 'a(sasstx)' }] },
  Pull: {
    in: [
      { name: 'image', type: 's' },
      { name: 'policy', type: 's' },
    ],
    out: [{ name: 'fetched', type: 'b' }],
  },
  PullFromHost: { in: [{ name: 'image', type: 's' }], out: [] },
  Remove: { in: [{ name: 'images', type: 'as' }], out: [{ name: 'removed_ids', type: 'as' }] },
  Prune: { in: [{ name: 'roots', type: 'as' }], out: [{ name: 'removed_ids', type: 'as' }] },
  GarbageCollect: {
    in: [{ name: 'dry_run', type: 'b' }],
    out: [{ name: 'removed_or_would_remove', type: 'as' }],
  },
  ListJobs: { in: [], out: [{ name: 'jobs', type: 'a(ussso)' }] },
  CancelJob: { in: [{ name: 'id', type: 'u' }], out: [] },
};

export const STORAGE_SIGNALS: Readonly<Record<string, Arg[]>> = {
  JobNew: [
    { name: 'id', type: 'u' },
    { name: 'path', type: 'o' },
  ],
  JobRemoved: [
    { name: 'id', type: 'u' },
    { name: 'path', type: 'o' },
    { name: 'result', type: 's' },
  ],
};

export const STORAGE_PROPERTIES: Readonly<Record<string, PropertyDef>> = {
  Version: { type: 's', emits: 'const' },
  StorePath: { type: 's', emits: 'const' },
};

export const JOB_METHODS: Readonly<Record<string, MethodDef>> = {
  Cancel: { in: [], out: [] },
};

export const JOB_PROPERTIES: Readonly<Record<string, PropertyDef>> = {
  Id: { type: 'u', emits: 'true' },
  Kind: { type: 's', emits: 'true' },
  Target: { type: 's', emits: 'true' },
  State: { type: 's', emits: 'true' },
  Progress: { type: 'd', emits: 'true' },
  BytesDone: { type: 't', emits: 'true' },
  BytesTotal: { type: 't', emits: 'true' },
  LayersDone: { type: 'u', emits: 'true' },
  LayersTotal: { type: 'u', emits: 'true' },
  Owner: { type: 'u', emits: 'true' },
};

/** The in-signature a method call must carry. */
export function inSignature(def: MethodDef): string {
  return def.in.map((a) => a.type).join('');
}
export function outSignature(def: MethodDef): string {
  return def.out.map((a) => a.type).join('');
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

function interfaceXml(
  name: string,
  methods: Readonly<Record<string, MethodDef>>,
  signals: Readonly<Record<string, Arg[]>>,
  props: Readonly<Record<string, PropertyDef>>,
): string {
  const lines = [`  <interface name="${name}">`];
  for (const [m, def] of Object.entries(methods)) {
    const args = [
      ...def.in.map((a) => `<arg name="${a.name}" type="${a.type}" direction="in"/>`),
      ...def.out.map((a) => `<arg name="${a.name}" type="${a.type}" direction="out"/>`),
    ];
    lines.push(`    <method name="${m}">${args.join('')}</method>`);
  }
  for (const [s, args] of Object.entries(signals)) {
    lines.push(
      `    <signal name="${s}">${args.map((a) => `<arg name="${a.name}" type="${a.type}"/>`).join('')}</signal>`,
    );
  }
  for (const [p, def] of Object.entries(props)) {
    lines.push(
      `    <property name="${p}" type="${def.type}" access="read"><annotation name="org.freedesktop.DBus.Property.EmitsChangedSignal" value="${def.emits}"/></property>`,
    );
  }
  lines.push('  </interface>');
  return lines.join('\n');
}

const DOCTYPE =
  '<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">';

/** Introspection XML for an object path: its interfaces (if any) and child nodes. */
export function introspect(path: string, children: string[]): string {
  let ifaces = '';
  if (path === STORAGE_PATH)
    ifaces = STANDARD + interfaceXml(STORAGE_IFACE, STORAGE_METHODS, STORAGE_SIGNALS, STORAGE_PROPERTIES);
  else if (path.startsWith(JOB_PATH_PREFIX))
    ifaces = STANDARD + interfaceXml(JOB_IFACE, JOB_METHODS, {}, JOB_PROPERTIES);
  const nodes = children.map((c) => `  <node name="${c}"/>`).join('\n');
  return `${DOCTYPE}\n<node>\n${ifaces}\n${nodes}\n</node>\n`;
}
