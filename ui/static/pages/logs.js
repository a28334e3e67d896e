// Logs: a task's stdout or stderr, from the start or the end, following
// live. The agent streams JSON frames (one per line: File, Offset, Data in
// base64, FileEvent) from /v1/client/fs/logs and follows the log across
// rotation itself, as for `roam alloc logs -f`; the page decodes the
// frames as they arrive and keeps the last maxChars of text.
import { get, b64bytes } from '../api.js';
import { h, replace, errorBox, announce } from '../dom.js';
import { allocTabs, allocCrumbs } from './alloc.js';

// maxChars bounds the text kept on the page: a chatty task must not grow
// the tab without end. Older text is dropped from the top.
const maxChars = 2_000_000;

// streamFrames reads the NDJSON frame stream of res, calling onFrame for
// each frame. It returns when the agent ends the stream.
async function streamFrames(res, onFrame) {
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line) onFrame(JSON.parse(line));
    }
  }
}

export async function render({ main, params, query, signal, title }) {
  const id = params[0];
  title(`Logs · ${id.slice(0, 8)}`);
  const alloc = await get(`/v1/allocation/${encodeURIComponent(id)}`, { signal });
  const tasks = Object.keys(alloc.TaskStates || {}).sort();
  if (!tasks.length) tasks.push(...(alloc.Job?.TaskGroups?.find((g) => g.Name === alloc.TaskGroup)?.Tasks || []).map((t) => t.Name));
  const st = {
    task: query.get('task') || tasks[0] || '',
    type: query.get('type') === 'stderr' ? 'stderr' : 'stdout',
    origin: query.get('origin') === 'start' ? 'start' : 'end',
    follow: query.get('follow') !== 'false',
  };
  const out = h('pre', { class: 'logs', id: 'log-output', tabindex: '0', 'aria-label': 'Log output', 'aria-live': 'off' });
  const status = h('p', { class: 'muted', id: 'log-status', role: 'status' });
  const errs = h('div');
  let ctl = null;

  const toolbar = h('form', { class: 'toolbar', onsubmit: (e) => e.preventDefault() },
    h('label', { for: 'log-task' }, 'Task', h('select', { id: 'log-task', onchange: (e) => { st.task = e.target.value; restart(); } },
      tasks.map((t) => h('option', { value: t, selected: t === st.task }, t)))),
    h('fieldset', { class: 'toolbar' }, h('legend', { class: 'visually-hidden' }, 'Stream'),
      ['stdout', 'stderr'].map((t) => h('label', { class: 'inline' }, h('input', { type: 'radio', name: 'log-type', value: t, checked: st.type === t, onchange: () => { st.type = t; restart(); } }), t))),
    h('label', { for: 'log-origin' }, 'Start from', h('select', { id: 'log-origin', onchange: (e) => { st.origin = e.target.value; restart(); } },
      [['end', 'the end (latest)'], ['start', 'the start']].map(([v, l]) => h('option', { value: v, selected: st.origin === v }, l)))),
    h('label', { class: 'inline' }, h('input', { type: 'checkbox', id: 'log-follow', checked: st.follow, onchange: (e) => { st.follow = e.target.checked; restart(); } }), 'Follow'));
  main.append(allocCrumbs(alloc, id, [h('li', {}, h('span', { 'aria-current': 'page' }, 'Logs'))]),
    h('h1', {}, 'Logs'), allocTabs(id, '/logs'), toolbar, errs, status, out);

  function restart() {
    const q = new URLSearchParams({ task: st.task, type: st.type, origin: st.origin, follow: String(st.follow) });
    history.replaceState(null, '', `${location.pathname}?${q}`);
    ctl?.abort();
    ctl = new AbortController();
    signal.addEventListener('abort', () => ctl.abort(), { once: true });
    stream(ctl.signal);
  }

  async function stream(sig) {
    out.textContent = '';
    errs.replaceChildren();
    replace(status, st.follow ? 'Following…' : 'Loading…');
    const dec = new TextDecoder();
    let kept = 0; // characters on the page, counted rather than re-measured per frame
    // From the end: the last 64 KiB, then live, as `alloc logs -f -tail`.
    const q = new URLSearchParams({ task: st.task, type: st.type, follow: String(st.follow), origin: st.origin, offset: st.origin === 'end' ? '65536' : '0' });
    try {
      const res = await fetch(`/v1/client/fs/logs/${encodeURIComponent(id)}?${q}`, { signal: sig });
      if (!res.ok) throw Object.assign(new Error((await res.text()).trim() || res.statusText), { status: res.status });
      main.dataset.ready = '1';
      await streamFrames(res, (f) => {
        if (f.FileEvent) { announce(`log ${f.FileEvent}`); return; }
        if (!f.Data) return;
        const atBottom = out.scrollHeight - out.scrollTop - out.clientHeight < 40;
        const text = dec.decode(b64bytes(f.Data), { stream: true });
        out.append(text);
        kept += text.length;
        if (kept > maxChars) { out.textContent = out.textContent.slice(-maxChars / 2); kept = out.textContent.length; }
        if (atBottom) out.scrollTop = out.scrollHeight;
      });
      replace(status, st.follow ? 'The task has finished: end of log.' : 'End of log.');
    } catch (err) {
      if (sig.aborted) return;
      replace(status, '');
      replace(errs, errorBox(err, `Reading ${st.task}'s ${st.type}`), h('button', { type: 'button', onclick: restart }, 'Try again'));
    }
  }
  restart();
}
