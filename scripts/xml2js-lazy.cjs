// What the daemon bundle gets for `require('xml2js')` (scripts/bundle-options.mjs): dbus-next requires xml2js
// when it is loaded and builds an xml2js.Builder per bus, but the daemon renders its own introspection XML
// (src/api/dbus/interface-xml.ts) and never builds proxy objects, so the XML libraries (xml2js, xmlbuilder,
// sax: ~225 kB of code) are only evaluated if dbus-next really builds or parses XML (an Introspect call on a
// path the daemon does not serve). Costs nothing at rest, behaves as xml2js when used.
'use strict';

let real;
/** xml2js itself, evaluated on first use. */
function load() {
  real ??= require('xml2js/lib/xml2js.js');
  return real;
}

class Builder {
  constructor(opts) {
    this.opts = opts;
  }
  buildObject(obj) {
    this.impl ??= new (load().Builder)(this.opts);
    return this.impl.buildObject(obj);
  }
}

class Parser {
  constructor(opts) {
    this.impl = new (load().Parser)(opts);
  }
  parseString(...args) {
    return this.impl.parseString(...args);
  }
  parseStringPromise(...args) {
    return this.impl.parseStringPromise(...args);
  }
}

module.exports = {
  Builder,
  Parser,
  parseString: (...args) => load().parseString(...args),
  parseStringPromise: (...args) => load().parseStringPromise(...args),
};
