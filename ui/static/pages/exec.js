// Exec: a terminal into a running task over the exec websocket
// (/v1/client/allocation/:id/exec), in Nomad's frames: stdin and
// tty_size in, stdout/stderr and the exit result out. The agent refuses
// what its API would refuse (task not running, a driver without exec);
// its close reason is shown.
import { get, b64bytes, bytesB64 } from '../api.js';
import { h, replace, errorBox, announce } from '../dom.js';
import { allocTabs, allocCrumbs } from './alloc.js';
import { Terminal } from '../term.js';

// heartbeat keeps idle sessions open through proxies.
const heartbeatMs = 10000;

export async function render({ main, params, query, signal, title }) {
  const id = params[0];
  title(`Exec · ${id.slice(0, 8)}`);
  const alloc = await get(`/v1/allocation/${encodeURIComponent(id)}`, { signal });
  const tasks = Object.entries(alloc.TaskStates || {}).filter(([, s]) => s.State === 'running').map(([n]) => n).sort();
  const st = { task: query.get('task') || tasks[0] || '', command: query.get('command') || '/bin/sh' };
  const status = h('p', { id: 'exec-status', role: 'status' });
  const errs = h('div');
  const screen = h('pre', { class: 'term', id: 'terminal', 'aria-label': 'Terminal', 'aria-describedby': 'exec-help' });
  let session = null;

  const form = h('form', { class: 'toolbar', onsubmit: (e) => { e.preventDefault(); connect(); } },
    h('label', { for: 'exec-task' }, 'Task', h('select', { id: 'exec-task', onchange: (e) => { st.task = e.target.value; } },
      (tasks.length ? tasks : ['']).map((t) => h('option', { value: t, selected: t === st.task }, t || 'no running task')))),
    h('label', { for: 'exec-command' }, 'Command', h('input', { id: 'exec-command', value: st.command, spellcheck: 'false', oninput: (e) => { st.command = e.target.value; } })),
    h('button', { type: 'submit', class: 'primary', id: 'exec-connect' }, 'Connect'));
  main.append(allocCrumbs(alloc, id, [h('li', {}, h('span', { 'aria-current': 'page' }, 'Exec'))]),
    h('h1', {}, 'Exec'), allocTabs(id, '/exec'), form,
    h('p', { class: 'muted', id: 'exec-help' }, 'Runs the command inside the task with a terminal. Type in the terminal once connected; Shift+Tab leaves it.'),
    errs, status, screen);
  if (!tasks.length) replace(errs, h('div', { class: 'note' }, 'No task of this allocation is running: exec needs a running task.'));
  main.dataset.ready = '1';

  function connect() {
    session?.close();
    errs.replaceChildren();
    const argv = st.command.trim().split(/\s+/).filter(Boolean);
    if (!argv.length) { replace(errs, errorBox(new Error('enter a command, such as /bin/sh'), 'Exec')); return; }
    const term = new Terminal(screen, { onData: (s) => send({ stdin: { data: bytesB64(new TextEncoder().encode(s)) } }) });
    const size = term.fit();
    const q = new URLSearchParams({ task: st.task, command: JSON.stringify(argv), tty: 'true' });
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/client/allocation/${encodeURIComponent(id)}/exec?${q}`);
    session = ws;
    let exited = false;
    const send = (msg) => { if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg)); };
    const beat = setInterval(() => send({}), heartbeatMs);
    const onResize = () => { const s = term.fit(); send({ tty_size: { width: s.cols, height: s.rows } }); };
    replace(status, `Connecting to ${st.task}…`);
    let opened = false;
    ws.onopen = () => {
      opened = true;
      send({ tty_size: { width: size.cols, height: size.rows } });
      replace(status, `Connected to ${st.task}: ${argv.join(' ')}`);
      window.addEventListener('resize', onResize);
      screen.focus();
    };
    ws.onmessage = (ev) => {
      const m = JSON.parse(ev.data);
      if (m.stdout?.data) term.write(b64bytes(m.stdout.data));
      if (m.stderr?.data) term.write(b64bytes(m.stderr.data));
      if (m.exited) {
        exited = true;
        const code = m.result?.exit_code ?? 0;
        replace(status, `The command exited with code ${code}.`);
        status.dataset.exitCode = String(code);
        announce(`exec exited with code ${code}`);
      }
    };
    ws.onclose = (ev) => {
      clearInterval(beat);
      window.removeEventListener('resize', onResize);
      if (signal.aborted || exited) return;
      replace(status, 'Disconnected.');
      // The agent closes with 1011 and the reason when it refuses after the
      // upgrade; a refusal before it (no such allocation, a bad command)
      // is an HTTP answer the browser hides from websockets, so ask again
      // over HTTP to show the agent's words.
      if (!opened && !ev.reason) {
        fetch(ws.url.replace(/^ws/, 'http'), { signal }).then((r) => r.text())
          .then((t) => replace(errs, errorBox(new Error(t.trim() || `the connection closed (code ${ev.code})`), 'Exec')))
          .catch(() => {});
        return;
      }
      replace(errs, errorBox(new Error(ev.reason || `the connection closed (code ${ev.code})`), 'Exec'));
    };
    signal.addEventListener('abort', () => ws.close(), { once: true });
  }
}
