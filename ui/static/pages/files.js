// The file explorer: a task's directory and the shared alloc/ directory
// through /v1/client/fs (ls, stat, readat, cat), which confine every read
// to the allocation and refuse secrets/ and private/. The explorer also
// leaves those two out of task listings, so nobody is invited to click
// into a refusal.
import { get, request } from '../api.js';
import { h, replace, table, errorBox, fmtBytes, fmtTime, link, allocHref } from '../dom.js';
import { codeView, languageFor } from '../highlight.js';
import { allocTabs, allocCrumbs } from './alloc.js';

// Files up to showLimit bytes are shown in the page; larger ones are
// offered as downloads (the page would hold the whole text).
const showLimit = 2 << 20;
// Media up to mediaLimit bytes are rendered from a blob of their bytes.
const mediaLimit = 64 << 20;

// hidden are the names a task directory holds that the explorer never lists.
const hidden = new Set(['secrets', 'private']);

const mediaTypes = /^(image\/(png|jpeg|gif|webp|bmp|x-icon|vnd\.microsoft\.icon|avif)|video\/(mp4|webm|ogg)|audio\/(mpeg|wave|wav|ogg|webm|aiff|basic|midi)|application\/ogg)$/;

// kind decides how a file is shown from its sniffed type, name and size.
export function kind(info, name) {
  const ct = (info.ContentType || '').split(';')[0].trim();
  if (/\.svg$/i.test(name) && info.Size <= mediaLimit) return { show: 'image', type: 'image/svg+xml' };
  if (mediaTypes.test(ct) && info.Size <= mediaLimit) {
    return { show: ct.startsWith('image/') ? 'image' : ct.startsWith('video/') ? 'video' : 'audio', type: ct };
  }
  const text = ct.startsWith('text/') || ct === 'application/json' || (ct === '' && info.Size === 0);
  if (text && info.Size <= showLimit) return { show: 'text' };
  return { show: 'download', why: text ? `too large to show here (${fmtBytes(info.Size)})` : `a binary file (${ct || 'unknown type'})` };
}

const fsURL = (op, id, p, extra = {}) => `/v1/client/fs/${op}/${encodeURIComponent(id)}?` + new URLSearchParams({ path: p, ...extra });
const pathHref = (id, p) => allocHref(id, '/fs/' + p.split('/').filter(Boolean).map(encodeURIComponent).join('/'));

export async function render({ main, params, signal, title }) {
  const id = params[0];
  const p = (params[1] || '/').split('/').filter(Boolean).join('/');
  const parts = p ? p.split('/') : [];
  title(`Files ${p ? '/' + p : '/'} · ${id.slice(0, 8)}`);
  const alloc = await get(`/v1/allocation/${encodeURIComponent(id)}`, { signal }).catch(() => null);
  const crumbs = [h('li', {}, parts.length ? link(pathHref(id, ''), 'Files') : h('span', { 'aria-current': 'page' }, 'Files'))];
  parts.forEach((name, i) => {
    const here = parts.slice(0, i + 1).join('/');
    crumbs.push(h('li', {}, i === parts.length - 1 ? h('span', { 'aria-current': 'page' }, name) : link(pathHref(id, here), name)));
  });
  const body = h('div');
  main.append(allocCrumbs(alloc, id, crumbs), h('h1', {}, parts.length ? parts[parts.length - 1] : 'Files'), allocTabs(id, '/fs'), body);
  try {
    const info = await get(fsURL('stat', id, p || '/'), { signal });
    if (info.IsDir) await listing(body, id, p, parts, signal);
    else await showFile(body, id, p, info, signal);
  } catch (err) {
    if (!signal.aborted) replace(body, errorBox(err, `Reading ${p || '/'}`));
  }
  main.dataset.ready = '1';
}

async function listing(body, id, p, parts, signal) {
  let list = await get(fsURL('ls', id, p || '/'), { signal });
  // Inside a task's directory (depth 1, not the shared alloc/), leave out
  // secrets/ and private/.
  if (parts.length === 1 && parts[0] !== 'alloc') list = list.filter((f) => !hidden.has(f.Name));
  list.sort((a, b) => (b.IsDir - a.IsDir) || a.Name.localeCompare(b.Name));
  const up = parts.length ? [{ Name: '..', IsDir: true, up: true }] : [];
  replace(body, table(null, [
    { label: 'Name', cell: (f) => link(pathHref(id, f.up ? parts.slice(0, -1).join('/') : [p, f.Name].filter(Boolean).join('/')), f.Name + (f.IsDir && !f.up ? '/' : ''), { 'aria-label': f.up ? 'Parent directory' : null }) },
    { label: 'Size', cell: (f) => (f.IsDir ? '' : fmtBytes(f.Size)), class: 'num' },
    { label: 'Mode', cell: (f) => f.FileMode || '', class: 'mono hide-narrow' },
    { label: 'Modified', cell: (f) => fmtTime(f.ModTime), class: 'hide-narrow' },
  ], [...up, ...list], 'Empty directory.'));
}

async function showFile(body, id, p, info, signal) {
  const name = p.split('/').pop();
  const raw = h('a', { href: fsURL('cat', id, p), download: name, id: 'raw-link' }, `Download ${name} (${fmtBytes(info.Size)})`);
  const facts = h('p', { class: 'muted' }, `${info.ContentType || 'unknown type'} · ${info.FileMode} · modified ${fmtTime(info.ModTime)} · `, raw);
  const k = kind(info, name);
  if (k.show === 'download') {
    replace(body, facts, h('p', { class: 'note' }, `This is ${k.why}: download it to look inside.`));
    return;
  }
  if (k.show === 'text') {
    const r = await request('GET', `/v1/client/fs/readat/${encodeURIComponent(id)}`, { query: { path: p, offset: 0, limit: info.Size || 1 }, signal });
    const lang = languageFor(name);
    replace(body, facts, codeView(typeof r.data === 'string' ? r.data : JSON.stringify(r.data, null, 2), lang, `Contents of ${name}`));
    return;
  }
  // Media are fetched as bytes and shown from a blob of the sniffed type:
  // the raw endpoint answers application/octet-stream (so nothing a task
  // wrote can run as a page of the agent), and a blob URL keeps it so.
  const res = await fetch(fsURL('cat', id, p), { signal });
  if (!res.ok) throw Object.assign(new Error((await res.text()).trim()), { status: res.status });
  const url = URL.createObjectURL(new Blob([await res.arrayBuffer()], { type: k.type }));
  signal.addEventListener('abort', () => URL.revokeObjectURL(url), { once: true });
  const media = k.show === 'image' ? h('img', { src: url, alt: `Image ${name}` })
    : h(k.show, { src: url, controls: true, 'aria-label': `${k.show} ${name}` });
  const caption = h('p', { class: 'muted', id: 'media-caption' }, `${name}, ${fmtBytes(info.Size)}`);
  if (k.show === 'image') {
    media.addEventListener('load', () => replace(caption, `${name}: ${media.naturalWidth} × ${media.naturalHeight} px, ${fmtBytes(info.Size)}`), { once: true });
  }
  replace(body, facts, h('figure', { class: 'media' }, media, h('figcaption', {}, caption)));
}
