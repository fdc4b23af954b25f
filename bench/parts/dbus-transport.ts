// The D-Bus transport (src/api/dbus/server.ts) with what it imports: dbus-next, the operations table, the core.
import { DBusServer } from '../../src/api/dbus/server.js';

(globalThis as { keep?: unknown }).keep = DBusServer;
