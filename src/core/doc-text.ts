// Lays out the contract's hand-written prose for a generated file: paragraphs (separated by blank lines) are
// wrapped to a width; lines that start with a space are kept as written (tables, lists).

/** The prose as lines of at most `width` columns (verbatim lines excepted), each prefixed by `indent`. */
export function layoutDoc(text: string, width: number, indent = ''): string[] {
  const out: string[] = [];
  const paragraphs = text.trim().split(/\n\s*\n/);
  paragraphs.forEach((para, i) => {
    if (i > 0) out.push(indent.trimEnd());
    let words: string[] = [];
    const flush = () => {
      if (words.length > 0) out.push(...wrapWords(words, width - indent.length).map((l) => indent + l));
      words = [];
    };
    for (const line of para.split('\n')) {
      if (/^\s/.test(line)) {
        flush();
        out.push(indent + line.trimEnd());
      } else {
        words.push(...line.split(/\s+/).filter(Boolean));
      }
    }
    flush();
  });
  return out;
}

function wrapWords(words: readonly string[], width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line && line.length + 1 + w.length > width) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines;
}
