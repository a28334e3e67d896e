// api.js: the UI's only way to the agent. Every request carries the view's
// AbortSignal, so leaving a page cancels what it had in flight.

// APIError is a failed request: the status and the agent's message.
export class APIError extends Error {
  constructor(status, message, path) {
    super(message || `HTTP ${status}`);
    this.status = status;
    this.path = path;
  }
}

function url(path, query) {
  const u = new URL(path, location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== '') u.searchParams.set(k, v);
  }
  return u.pathname + u.search;
}

// request sends one API call and returns {data, index}. A non-2xx answer
// throws an APIError with the agent's message (its body is plain text).
export async function request(method, path, { query, body, signal } = {}) {
  const init = { method, signal, headers: {} };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  const res = await fetch(url(path, query), init);
  const index = Number(res.headers.get('X-Nomad-Index') || 0);
  if (!res.ok) {
    const text = (await res.text()).trim();
    throw new APIError(res.status, text || res.statusText, path);
  }
  const type = res.headers.get('Content-Type') || '';
  const data = type.includes('json') ? await res.json() : await res.text();
  return { data, index };
}

export const get = (path, opts) => request('GET', path, opts).then((r) => r.data);
export const post = (path, body, opts = {}) => request('POST', path, { ...opts, body }).then((r) => r.data);
export const del = (path, opts) => request('DELETE', path, opts).then((r) => r.data);

// sleep resolves after ms, or rejects when signal aborts.
export function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => { clearTimeout(t); reject(signal.reason); }, { once: true });
  });
}

// follow keeps a view current with one outstanding request at a time.
// Browsers open at most six HTTP/1.1 connections to one host, shared by
// every tab on the agent: a view holding one blocking query per source
// would starve the next page (and the next tab) of connections. So a view
// names its sources, the first one primary: follow blocks on the primary
// (?index=&wait=), and each time it answers (a change, or the wait
// elapsing) fetches the others once, one after another (the first time,
// all side by side: a page's first draw waits for them). onData gets every
// source's latest data whenever any index moved. It ends when signal
// aborts; failures go to onError and are retried with a growing pause.
//
// sources: [{key, path, query, first}], primary first. first, when set,
// is a request (a promise of {data, index}) the page already started for
// this source: the first round uses its answer instead of asking again, so
// a page that had to read one source to know its others can start them
// all at once. wait: how long the primary may block, which bounds how late
// a change of the others shows.
export async function follow(signal, sources, onData, onError, wait = '10s') {
  const [primary, ...rest] = sources;
  const indexes = {};
  let pause = 500;
  let last = null, started = false;
  while (!signal.aborted) {
    try {
      const idx = indexes[primary.key] || 0;
      // A started request answers the first try only: a retry asks anew.
      const early = started ? () => null : (s) => s.first;
      started = true;
      // The first round reads every source side by side (a page's first
      // draw waits for all of them); later rounds read the others one after
      // another once the primary answered.
      const read = (s) => (early(s) || request('GET', s.path, { query: s.query, signal })).catch((err) => {
        if (signal.aborted) throw err;
        return { data: null, index: -1, err };
      });
      const firstRound = last ? null : Promise.all(rest.map(read));
      firstRound?.catch(() => {}); // awaited below unless the primary fails
      const r = await (early(primary) || request('GET', primary.path, { query: idx ? { ...primary.query, index: idx, wait } : primary.query, signal }));
      const data = { [primary.key]: r.data };
      let changed = !last || r.index !== idx || r.index === 0;
      indexes[primary.key] = r.index;
      const others = firstRound ? await firstRound : [];
      for (const [i, s] of rest.entries()) {
        const o = others[i] || await read(s);
        data[s.key] = o.err ? last?.[s.key] ?? null : o.data;
        if (o.err) onError?.(o.err, s.key);
        if (o.index !== indexes[s.key] || o.index === 0) changed = true;
        indexes[s.key] = o.index;
      }
      pause = 500;
      if (changed) { last = data; onData(data); }
      if (r.index === 0) await sleep(3000, signal); // a source without an index
    } catch (err) {
      if (signal.aborted) return;
      onError?.(err, primary.key);
      await sleep(pause, signal).catch(() => {});
      pause = Math.min(pause * 2, 10000);
    }
  }
}

// watch follows one source: follow with a single source.
export function watch(path, query, signal, onData, onError, wait = '60s') {
  return follow(signal, [{ key: 'v', path, query }], (d) => onData(d.v), onError, wait);
}

// poll calls fn every ms, one call at a time, until signal aborts: for
// sources without blocking queries (live resource usage, members).
export async function poll(ms, signal, fn) {
  while (!signal.aborted) {
    try { await fn(); } catch (err) { if (signal.aborted) return; }
    await sleep(ms, signal).catch(() => {});
  }
}

// b64bytes decodes base64 (how the API carries bytes) to a Uint8Array.
export function b64bytes(s) {
  const bin = atob(s || '');
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

// bytesB64 encodes bytes as base64.
export function bytesB64(bytes) {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

// ns returns the namespace query of the current URL, to carry it along.
export function nsQuery() {
  const ns = new URLSearchParams(location.search).get('namespace');
  return ns ? { namespace: ns } : {};
}
