// The live introspection XML rendered once (src/api/dbus/interface-xml.ts), as the first Introspect call does.
import { introspect } from '../../src/api/dbus/interface-xml.js';

(globalThis as { keep?: unknown }).keep = introspect('/org/bootc/Storage', []);
