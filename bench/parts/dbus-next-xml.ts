// dbus-next with its XML libraries evaluated, as it was before scripts/xml2js-lazy.cjs.
import dbus from 'dbus-next';
// @ts-expect-error xml2js ships no type declarations; this part only evaluates it.
import xml2js from 'xml2js';

(globalThis as { keep?: unknown }).keep = [dbus, new (xml2js as { Builder: new () => unknown }).Builder()];
