// highlight.js: a small tokenizer for syntax highlighting, written for the
// file explorer. One generic scanner driven by a table of languages: line
// and block comments, string quotes, keywords, numbers. It does not parse;
// it colours what a reader scans for. Output is DOM nodes (text set as
// text), one <li> per line, so line numbers come from CSS counters.

const words = (s) => new Set(s.split(/\s+/).filter(Boolean));

// languages, by name. line: line-comment starts; block: [open, close]
// pairs; quotes: string delimiters; keywords; types (coloured apart).
const languages = {
  go: { line: ['//'], block: [['/*', '*/']], quotes: ['"', '`', "'"],
    keywords: words('break case chan const continue default defer else fallthrough for func go goto if import interface map package range return select struct switch type var nil true false iota'),
    types: words('bool byte complex64 complex128 error float32 float64 int int8 int16 int32 int64 rune string uint uint8 uint16 uint32 uint64 uintptr any') },
  js: { line: ['//'], block: [['/*', '*/']], quotes: ['"', "'", '`'],
    keywords: words('async await break case catch class const continue debugger default delete do else export extends finally for from function if import in instanceof let new of return static super switch this throw try typeof var void while with yield null undefined true false'),
    types: words('Array Object String Number Boolean Promise Map Set Error') },
  py: { line: ['#'], block: [['"""', '"""'], ["'''", "'''"]], quotes: ['"', "'"],
    keywords: words('and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield None True False self'),
    types: words('int float str bytes list dict set tuple bool object') },
  sh: { line: ['#'], block: [], quotes: ['"', "'"],
    keywords: words('if then else elif fi for while until do done case esac function in return exit local export set unset echo printf cd test read shift trap eval exec source'),
    types: words('') },
  hcl: { line: ['#', '//'], block: [['/*', '*/']], quotes: ['"'],
    keywords: words('job group task config resources network port service check template artifact env meta constraint affinity spread update restart reschedule volume volume_mount lifecycle variable locals dynamic for_each content true false null'),
    types: words('') },
  yaml: { line: ['#'], block: [], quotes: ['"', "'"], keywords: words('true false null yes no on off'), types: words('') },
  json: { line: [], block: [], quotes: ['"'], keywords: words('true false null'), types: words('') },
  c: { line: ['//'], block: [['/*', '*/']], quotes: ['"', "'"],
    keywords: words('auto break case const continue default do else enum extern for goto if inline register restrict return sizeof static struct switch typedef union volatile while class public private protected namespace template typename using new delete this throw try catch virtual override fn let mut impl trait pub use mod match loop move ref self Self where crate as true false NULL nullptr import package extends implements interface final abstract synchronized'),
    types: words('void char short int long float double signed unsigned bool size_t u8 u16 u32 u64 i8 i16 i32 i64 f32 f64 usize isize str String Vec Option Result boolean byte') },
  css: { line: [], block: [['/*', '*/']], quotes: ['"', "'"], keywords: words('important media root'), types: words('') },
  sql: { line: ['--'], block: [['/*', '*/']], quotes: ["'", '"'],
    keywords: words('select from where insert into values update set delete create table drop alter index join left right inner outer on group by order having limit and or not null as distinct union primary key SELECT FROM WHERE INSERT INTO VALUES UPDATE SET DELETE CREATE TABLE DROP ALTER INDEX JOIN LEFT RIGHT INNER OUTER ON GROUP BY ORDER HAVING LIMIT AND OR NOT NULL AS DISTINCT UNION PRIMARY KEY'),
    types: words('') },
};

// byExtension maps file extensions (and a few names) to languages.
const byExtension = {
  go: 'go', js: 'js', mjs: 'js', cjs: 'js', ts: 'js', tsx: 'js', jsx: 'js',
  py: 'py', sh: 'sh', bash: 'sh', zsh: 'sh', env: 'sh', dockerfile: 'sh', makefile: 'sh',
  hcl: 'hcl', nomad: 'hcl', tf: 'hcl', tpl: 'hcl',
  yaml: 'yaml', yml: 'yaml', toml: 'yaml', ini: 'yaml', conf: 'yaml', cfg: 'yaml',
  json: 'json', c: 'c', h: 'c', cc: 'c', cpp: 'c', hpp: 'c', rs: 'c', java: 'c', kt: 'c', cs: 'c', swift: 'c',
  css: 'css', scss: 'css', sql: 'sql',
};

// languageFor picks a language from a file name, or null for plain text.
export function languageFor(name) {
  const base = name.toLowerCase().split('/').pop();
  const ext = base.includes('.') ? base.split('.').pop() : base;
  return languages[byExtension[ext]] ? byExtension[ext] : null;
}

const isDigit = (c) => c >= '0' && c <= '9';
const isWord = (c) => /[\w$]/.test(c);

// tokenize splits src into [class, text] pairs (class '' for plain text).
export function tokenize(src, lang) {
  const L = languages[lang];
  if (!L) return [['', src]];
  const out = [];
  let plain = '';
  const push = (cls, text) => {
    if (!cls) { plain += text; return; }
    if (plain) { out.push(['', plain]); plain = ''; }
    out.push([cls, text]);
  };
  let i = 0;
  const n = src.length;
  const startsWith = (s) => src.startsWith(s, i);
  scan: while (i < n) {
    for (const [open, close] of L.block) {
      if (startsWith(open)) {
        const end = src.indexOf(close, i + open.length);
        const stop = end < 0 ? n : end + close.length;
        // Python's triple quotes are strings, not comments.
        push(open[0] === '"' || open[0] === "'" ? 'tok-s' : 'tok-c', src.slice(i, stop));
        i = stop;
        continue scan;
      }
    }
    for (const lc of L.line) {
      if (startsWith(lc)) {
        let end = src.indexOf('\n', i);
        if (end < 0) end = n;
        push('tok-c', src.slice(i, end));
        i = end;
        continue scan;
      }
    }
    const c = src[i];
    if (L.quotes.includes(c)) {
      let j = i + 1;
      while (j < n && src[j] !== c) {
        if (src[j] === '\\') j++;
        else if (src[j] === '\n' && c !== '`') break; // unterminated: stop at the line
        j++;
      }
      push('tok-s', src.slice(i, Math.min(j + 1, n)));
      i = Math.min(j + 1, n);
      continue;
    }
    if (isDigit(c) && (i === 0 || !isWord(src[i - 1]))) {
      let j = i;
      while (j < n && /[\w.]/.test(src[j])) j++;
      push('tok-n', src.slice(i, j));
      i = j;
      continue;
    }
    if (isWord(c)) {
      let j = i;
      while (j < n && isWord(src[j])) j++;
      const w = src.slice(i, j);
      push(L.keywords.has(w) ? 'tok-k' : L.types.has(w) ? 'tok-t' : '', w);
      i = j;
      continue;
    }
    push('', c);
    i++;
  }
  if (plain) out.push(['', plain]);
  return out;
}

// codeView renders src as numbered lines, highlighted for lang (or plain).
export function codeView(src, lang, label) {
  const ol = document.createElement('ol');
  let li = document.createElement('li');
  const add = (cls, text) => {
    if (!text) return;
    if (!cls) { li.append(text); return; }
    const span = document.createElement('span');
    span.className = cls;
    span.textContent = text;
    li.append(span);
  };
  for (const [cls, text] of tokenize(src, lang)) {
    // A token may span lines (block comments, raw strings): split it so
    // every line is its own <li> with its number.
    const parts = text.split('\n');
    parts.forEach((p, k) => {
      if (k > 0) { ol.append(li); li = document.createElement('li'); }
      add(cls, p);
    });
  }
  ol.append(li);
  const wrap = document.createElement('div');
  wrap.className = 'code';
  wrap.tabIndex = 0;
  wrap.setAttribute('role', 'region');
  wrap.setAttribute('aria-label', label);
  wrap.dataset.lang = lang || 'text';
  wrap.append(ol);
  return wrap;
}
