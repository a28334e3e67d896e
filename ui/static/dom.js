// dom.js: a tiny element builder and the widgets pages share. Text is
// always set as text (never parsed as HTML): job names, log lines and file
// contents come from whoever submitted a job.

// h builds an element: h('a', {href: '/ui/jobs', class: 'x'}, 'text', child).
// Attributes starting with "on" are event listeners; null/false skip.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

// replace swaps el's children for the given ones.
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// link is an in-app link (the router intercepts clicks on /ui/ links).
export const link = (href, text, attrs = {}) => h('a', { href, ...attrs }, text);

export const jobHref = (id, ns) => `/ui/jobs/${encodeURIComponent(id)}` + nsSuffix(ns);
export const allocHref = (id, sub = '') => `/ui/allocations/${encodeURIComponent(id)}${sub}`;
export const nodeHref = (id) => `/ui/clients/${encodeURIComponent(id)}`;
const nsSuffix = (ns) => (ns && ns !== 'default' ? `?namespace=${encodeURIComponent(ns)}` : '');

// badge shows a status with a colour class named after it.
export function badge(status) {
  const s = String(status || 'unknown');
  return h('span', { class: `badge st-${s.replace(/[^a-z]/gi, '').toLowerCase()}` }, s);
}

// table renders rows with columns [{label, cell: (row) => node|string, class}].
// empty is shown (as a row) when there are no rows.
export function table(caption, columns, rows, empty = 'None.') {
  const head = h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.class }, c.label)));
  const body = rows.length
    ? rows.map((r) => h('tr', {}, columns.map((c, i) => h(i === 0 ? 'th' : 'td', { scope: i === 0 ? 'row' : null, class: c.class }, c.cell(r)))))
    : [h('tr', {}, h('td', { colspan: String(columns.length), class: 'empty' }, empty))];
  return h('div', { class: 'table-wrap' },
    h('table', { dataset: { rows: String(rows.length) } },
      caption ? h('caption', {}, caption) : null,
      h('thead', {}, head), h('tbody', {}, body)));
}

// dl renders a definition list from [term, value] pairs, skipping empty values.
export function dl(pairs, cls = 'facts') {
  return h('dl', { class: cls }, pairs.filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => h('div', {}, h('dt', {}, k), h('dd', {}, v))));
}

// section is a titled part of a page.
export function section(title, ...children) {
  const id = 'sec-' + title.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  return h('section', { 'aria-labelledby': id }, h('h2', { id }, title), ...children);
}

// errorBox shows a failed request readably: what failed and the agent's words.
export function errorBox(err, what) {
  const status = err && err.status ? ` (HTTP ${err.status})` : '';
  return h('div', { class: 'error', role: 'alert' },
    h('strong', {}, (what || 'Request failed') + status + ': '), err && err.message ? err.message : String(err));
}

export const shortID = (id) => String(id || '').slice(0, 8);

// timeFormat is made once: building a formatter per call (what
// toLocaleString with options does) costs about a millisecond, which a
// table of 1,000 allocations pays 1,000 times.
const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

// time formats nanoseconds, an ISO string or a Date as local time.
export function fmtTime(v) {
  if (!v) return '';
  let d;
  if (typeof v === 'number') d = new Date(v > 1e14 ? v / 1e6 : v);
  else d = new Date(v);
  if (isNaN(d) || d.getFullYear() < 1971) return '';
  return timeFormat.format(d);
}

export function fmtBytes(n) {
  n = Number(n || 0);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}

// button is a real <button> (keyboard and screen readers get it for free).
export function button(label, onclick, attrs = {}) {
  return h('button', { type: 'button', onclick, ...attrs }, label);
}

// confirmAction runs fn after the user confirms, showing its error inline.
export function action(label, question, fn, out, attrs = {}) {
  return button(label, async (ev) => {
    if (question && !confirm(question)) return;
    const b = ev.currentTarget;
    b.disabled = true;
    try {
      await fn();
      announce(`${label}: done`);
    } catch (err) {
      out.replaceChildren(errorBox(err, label));
    } finally {
      b.disabled = false;
    }
  }, attrs);
}

// announce tells screen readers about a change they did not navigate to.
export function announce(text) {
  const el = document.getElementById('announce');
  if (el) el.textContent = text;
}

// summaryCounts renders a task group summary {Running: 2, Failed: 1...}.
export function summaryCounts(s) {
  const keys = ['Queued', 'Starting', 'Running', 'Failed', 'Complete', 'Lost', 'Unknown'];
  const parts = keys.filter((k) => s && s[k]).map((k) => h('span', { class: `count st-${k.toLowerCase()}` }, `${s[k]} ${k.toLowerCase()}`));
  return parts.length ? h('span', { class: 'counts' }, parts) : h('span', { class: 'muted' }, 'none');
}

// pagedTable shows a long list a page at a time: drawing 1,000 rows costs
// a page load about 100 ms, and nobody reads them all at once. Its filter
// matches across every row (not the page shown), the count says which
// rows are shown of how many, and the page and the filter survive new
// data (the caller calls set on every answer). label names the rows for
// screen readers ("allocations"); text(row) is what the filter searches.
export function pagedTable({ label, columns = [], text, empty = 'None.', size = 50 }) {
  let rows = [], page = 0, q = '';
  const id = `filter-${label.replace(/[^a-z0-9]+/gi, '-')}`;
  const input = h('input', { id, type: 'search', placeholder: 'ID, status, node…',
    oninput: (e) => { q = e.target.value.trim().toLowerCase(); page = 0; draw(); } });
  const count = h('span', { class: 'pager-count', role: 'status', 'aria-live': 'polite' });
  const prev = button('Previous', () => { page--; draw(); }, { 'aria-label': `Previous page of ${label}` });
  const next = button('Next', () => { page++; draw(); }, { 'aria-label': `Next page of ${label}` });
  const out = h('div');
  const el = h('div', { class: 'paged' },
    h('div', { class: 'toolbar', role: 'search', 'aria-label': `Filter ${label}` },
      h('label', { for: id }, `Filter ${label}`, input)),
    out,
    h('nav', { class: 'pager', 'aria-label': `Pages of ${label}` }, prev, count, next));
  const draw = () => {
    const shown = q ? rows.filter((r) => text(r).toLowerCase().includes(q)) : rows;
    const pages = Math.max(1, Math.ceil(shown.length / size));
    page = Math.min(Math.max(page, 0), pages - 1);
    const from = page * size, slice = shown.slice(from, from + size);
    const t = table(null, columns, slice, rows.length ? `No ${label} match the filter.` : empty);
    const tbl = t.querySelector('table');
    tbl.dataset.total = String(shown.length);
    tbl.dataset.page = String(page + 1);
    replace(out, t);
    const n = (v) => v.toLocaleString('en');
    count.textContent = shown.length
      ? `${n(from + 1)}–${n(from + slice.length)} of ${n(shown.length)}${q ? ` (filtered from ${n(rows.length)})` : ''}`
      : `0 of ${n(rows.length)}`;
    prev.disabled = page === 0;
    next.disabled = page >= pages - 1;
  };
  // cols, when given, replaces the columns (a column may depend on the rows).
  return { el, set(list, cols) { rows = list; if (cols) columns = cols; draw(); } };
}
