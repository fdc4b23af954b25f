// A minimal, strict XML reader for tests that read the project's XML files (bus policy, polkit policy,
// introspection): elements, attributes, text and comments; it throws on anything it does not understand.

export interface XmlElement {
  kind: 'element';
  name: string;
  attrs: Record<string, string>;
  children: XmlNode[];
  line: number;
}
export interface XmlText {
  kind: 'text';
  text: string;
}
export interface XmlComment {
  kind: 'comment';
  text: string;
}
export type XmlNode = XmlElement | XmlText | XmlComment;

const XML_NAME = String.raw`[A-Za-z_][\w.:-]*`;
const XML_ATTR = String.raw`${XML_NAME}\s*=\s*(?:"[^"<]*"|'[^'<]*')`;
const TAG_RE = new RegExp(String.raw`<(/?)(${XML_NAME})((?:\s+${XML_ATTR})*)\s*(/?)>`, 'y');
const ATTR_RE = new RegExp(String.raw`(${XML_NAME})\s*=\s*(?:"([^"<]*)"|'([^'<]*)')`, 'g');
const DOCTYPE_RE = /<!DOCTYPE(?:[^>"'[]|"[^"]*"|'[^']*')*>/y;

function decodeEntities(raw: string, where: string): string {
  return raw.replace(/&([^;&\s<]*)(;?)/g, (_whole, ent: string, semi: string) => {
    if (semi !== ';') throw new Error(`${where}: bare "&" (unterminated entity)`);
    const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
    if (Object.hasOwn(named, ent)) return named[ent]!;
    if (/^#\d+$/.test(ent)) return String.fromCodePoint(Number(ent.slice(1)));
    if (/^#x[0-9a-fA-F]+$/.test(ent)) return String.fromCodePoint(Number.parseInt(ent.slice(2), 16));
    throw new Error(`${where}: unknown entity &${ent};`);
  });
}

export function parseXml(src: string): XmlElement {
  const lineAt = (pos: number) => src.slice(0, pos).split('\n').length;
  const doc: XmlElement = { kind: 'element', name: '#document', attrs: {}, children: [], line: 1 };
  const stack: XmlElement[] = [doc];
  let pos = 0;
  while (pos < src.length) {
    const top = stack[stack.length - 1]!;
    if (src.startsWith('<!--', pos)) {
      const end = src.indexOf('-->', pos + 4);
      if (end < 0) throw new Error(`line ${lineAt(pos)}: unterminated comment`);
      const text = src.slice(pos + 4, end);
      if (text.includes('--')) throw new Error(`line ${lineAt(pos)}: "--" inside a comment`);
      top.children.push({ kind: 'comment', text });
      pos = end + 3;
    } else if (src.startsWith('<?', pos)) {
      if (stack.length > 1) throw new Error(`line ${lineAt(pos)}: processing instruction inside an element`);
      const end = src.indexOf('?>', pos);
      if (end < 0) throw new Error(`line ${lineAt(pos)}: unterminated processing instruction`);
      pos = end + 2;
    } else if (src.startsWith('<!DOCTYPE', pos)) {
      DOCTYPE_RE.lastIndex = pos;
      const m = DOCTYPE_RE.exec(src);
      if (!m || stack.length > 1) throw new Error(`line ${lineAt(pos)}: unsupported DOCTYPE`);
      pos += m[0].length;
    } else if (src.startsWith('<', pos)) {
      TAG_RE.lastIndex = pos;
      const m = TAG_RE.exec(src);
      if (!m)
        throw new Error(`line ${lineAt(pos)}: malformed or unsupported markup: ${src.slice(pos, pos + 40)}`);
      const [whole, close, name, attrText, selfClose] = m as unknown as [
        string,
        string,
        string,
        string,
        string,
      ];
      const where = `line ${lineAt(pos)} <${name}>`;
      if (close) {
        if (attrText || selfClose) throw new Error(`${where}: malformed end tag`);
        if (top.name !== name) throw new Error(`${where}: end tag </${name}> does not close <${top.name}>`);
        stack.pop();
      } else {
        if (stack.length === 1 && doc.children.some((c) => c.kind === 'element')) {
          throw new Error(`${where}: a second root element`);
        }
        const el: XmlElement = { kind: 'element', name, attrs: {}, children: [], line: lineAt(pos) };
        for (const a of attrText.matchAll(ATTR_RE)) {
          const key = a[1]!;
          if (Object.hasOwn(el.attrs, key)) throw new Error(`${where}: attribute ${key} given twice`);
          el.attrs[key] = decodeEntities(a[2] ?? a[3] ?? '', where);
        }
        top.children.push(el);
        if (!selfClose) stack.push(el);
      }
      pos += whole.length;
    } else {
      const next = src.indexOf('<', pos);
      const end = next < 0 ? src.length : next;
      const text = decodeEntities(src.slice(pos, end), `line ${lineAt(pos)}`);
      if (stack.length === 1 && text.trim() !== '')
        throw new Error(`line ${lineAt(pos)}: text outside the root`);
      top.children.push({ kind: 'text', text });
      pos = end;
    }
  }
  if (stack.length !== 1) throw new Error(`<${stack[stack.length - 1]!.name}> is never closed`);
  const roots = doc.children.filter((c): c is XmlElement => c.kind === 'element');
  if (roots.length !== 1) throw new Error('expected exactly one root element');
  return roots[0]!;
}

export const elementsOf = (el: XmlElement, name?: string): XmlElement[] =>
  el.children.filter((c): c is XmlElement => c.kind === 'element' && (name === undefined || c.name === name));

export function attrOf(el: XmlElement, name: string): string {
  const v = el.attrs[name];
  if (v === undefined) throw new Error(`line ${el.line}: <${el.name}> lacks the ${name} attribute`);
  return v;
}

export const textOf = (el: XmlElement): string =>
  el.children
    .filter((c): c is XmlText => c.kind === 'text')
    .map((c) => c.text)
    .join('')
    .trim();

/** The comment right before each `kind` child element (only whitespace between), keyed by its `key` attribute. */
export function docComments(parent: XmlElement, kind: string, key = 'name'): Record<string, string> {
  const out: Record<string, string> = {};
  let last: string | undefined;
  for (const c of parent.children) {
    if (c.kind === 'comment') last = c.text;
    else if (c.kind === 'text') {
      if (c.text.trim() !== '') last = undefined;
    } else {
      if (c.name === kind && last !== undefined) out[attrOf(c, key)] = last;
      last = undefined;
    }
  }
  return out;
}
