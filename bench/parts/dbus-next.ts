// dbus-next as the daemon bundles it (xml2js evaluated on first use only, scripts/xml2js-lazy.cjs).
import dbus from 'dbus-next';

(globalThis as { keep?: unknown }).keep = dbus;
