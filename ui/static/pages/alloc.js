// An allocation: task states and events, addresses and ports with the
// network mode, resources and live usage, restart and stop.
import { follow, post } from '../api.js';
import { h, replace, table, badge, dl, link, jobHref, nodeHref, allocHref, shortID, errorBox, section, fmtTime, fmtBytes, action } from '../dom.js';

// allocTabs are the allocation's sub-pages, shared by logs, files and exec.
export function allocTabs(id, currentPage) {
  const tabs = [['', 'Overview'], ['/logs', 'Logs'], ['/fs', 'Files'], ['/exec', 'Exec']];
  return h('nav', { 'aria-label': 'Allocation' }, h('ul', { class: 'tabs' }, tabs.map(([sub, label]) =>
    h('li', {}, h('a', { href: allocHref(id, sub), 'aria-current': sub === currentPage ? 'page' : null }, label)))));
}

// allocCrumbs is the breadcrumb of an allocation page.
export function allocCrumbs(alloc, id, extra = []) {
  return h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('ol', {},
    h('li', {}, link('/ui/jobs', 'Jobs')),
    alloc ? h('li', {}, link(jobHref(alloc.JobID, alloc.Namespace), alloc.JobID)) : null,
    h('li', {}, extra.length ? link(allocHref(id), shortID(id)) : h('span', { 'aria-current': 'page' }, shortID(id))),
    extra));
}

function events(ts) {
  const list = [...(ts.Events || [])].reverse();
  return table(null, [
    { label: 'Time', cell: (e) => fmtTime(e.Time) },
    { label: 'Type', cell: (e) => e.Type },
    { label: 'Description', cell: (e) => e.DisplayMessage || e.Message || '' },
  ], list, 'No events yet.');
}

function ports(alloc) {
  const shared = alloc.AllocatedResources?.Shared || {};
  const nets = [...(shared.Networks || [])];
  for (const t of Object.values(alloc.AllocatedResources?.Tasks || {})) nets.push(...(t.Networks || []));
  const rows = [];
  for (const n of nets) {
    for (const p of [...(n.ReservedPorts || []), ...(n.DynamicPorts || [])]) {
      const m = (shared.Ports || []).find((x) => x.Label === p.Label);
      rows.push({ mode: n.Mode || 'host', ip: m?.HostIP || n.IP, label: p.Label, value: m?.Value ?? p.Value, to: m?.To ?? p.To, net: p.HostNetwork || 'default' });
    }
  }
  return h('div', {},
    dl(nets.map((n, i) => [`Network ${i + 1}`, `mode ${n.Mode || 'host'}${n.IP ? `, address ${n.IP}` : ''}${n.CIDR ? `, ${n.CIDR}` : ''}`])),
    table(null, [
      { label: 'Label', cell: (r) => r.label },
      { label: 'Address', cell: (r) => `${r.ip || ''}:${r.value}`, class: 'mono' },
      { label: 'To (inside)', cell: (r) => (r.to > 0 ? String(r.to) : r.to === -1 ? 'same' : '') },
      { label: 'Mode', cell: (r) => r.mode },
      { label: 'Host network', cell: (r) => r.net, class: 'hide-narrow' },
    ], rows, 'No ports.'));
}

function resources(alloc, stats) {
  const tasks = Object.entries(alloc.AllocatedResources?.Tasks || {});
  return table(null, [
    { label: 'Task', cell: ([name]) => name },
    { label: 'CPU (MHz)', cell: ([, r]) => String(r.Cpu?.CpuShares ?? ''), class: 'num' },
    { label: 'CPU used', cell: ([name]) => cpuUsed(stats?.Tasks?.[name]), class: 'num' },
    { label: 'Memory', cell: ([, r]) => `${r.Memory?.MemoryMB ?? 0} MiB${r.Memory?.MemoryMaxMB ? ` (max ${r.Memory.MemoryMaxMB})` : ''}`, class: 'num' },
    { label: 'Memory used', cell: ([name]) => memUsed(stats?.Tasks?.[name]), class: 'num' },
  ], tasks, 'No task resources.');
}

// endings are the event types that say how a task ended: the cause, which
// says more than the verdict (Not Restarting, the event that fails the task).
const endings = ['Terminated', 'Driver Failure', 'Setup Failure', 'Failed Validation', 'Killed', 'Failed Artifact Download', 'OOM Killed'];

// taskFailures lists an allocation's failed tasks, each with the event
// that tells why it failed; the job page and the allocation page show it.
export function taskFailures(a) {
  return Object.keys(a.TaskStates || {}).sort().filter((n) => a.TaskStates[n].Failed).map((task) => {
    const rev = [...(a.TaskStates[task].Events || [])].reverse();
    return { task, ev: rev.find((e) => endings.includes(e.Type)) || rev.find((e) => e.FailsTask) || rev[0] };
  });
}

// describe is an event in a few words: "Terminated (Exit Code: 3)".
export const describe = (ev) => `${ev.Type}${ev.DisplayMessage ? ' (' + ev.DisplayMessage + ')' : ''}`;

// stderrHref is the end of a task's stderr, where a failure is explained.
export const stderrHref = (id, task) => allocHref(id, `/logs?task=${encodeURIComponent(task)}&type=stderr&origin=end`);

const cpuUsed = (t) => { const c = t?.ResourceUsage?.CpuStats; return c ? `${(c.Percent || 0).toFixed(1)}% · ${Math.round(c.TotalTicks || 0)} MHz` : '—'; };
const memUsed = (t) => { const m = t?.ResourceUsage?.MemoryStats; return m ? fmtBytes(m.RSS || m.Usage) : '—'; };

export async function render({ main, params, signal, title }) {
  const id = params[0];
  title(`Allocation ${shortID(id)}`);
  const crumbs = h('div'), head = h('div'), acts = h('div', { class: 'toolbar' }), actErr = h('div');
  const tasks = h('div'), net = h('div'), res = h('div'), failures = h('div');
  main.append(crumbs, head, allocTabs(id, ''), failures, acts, actErr, section('Tasks', tasks), section('Addresses and ports', net), section('Resources', res));
  let alloc = null, stats = null;
  const drawRes = () => alloc && replace(res, resources(alloc, stats));
  const draw = (a) => {
    alloc = a;
    replace(crumbs, allocCrumbs(a, id));
    replace(head, h('h1', {}, `Allocation ${shortID(a.ID)}`, badge(a.ClientStatus)), dl([
      ['Name', a.Name], ['Job', link(jobHref(a.JobID, a.Namespace), a.JobID)], ['Task group', a.TaskGroup],
      ['Node', a.NodeID ? link(nodeHref(a.NodeID), a.NodeName || shortID(a.NodeID)) : ''],
      ['Desired', `${a.DesiredStatus}${a.DesiredDescription ? ` (${a.DesiredDescription})` : ''}`],
      ['Client description', a.ClientDescription], ['Job version', String(a.JobVersion)],
      ['Created', fmtTime(a.CreateTime)], ['Full ID', h('span', { class: 'mono' }, a.ID)],
      ['Next allocation', a.NextAllocation ? link(allocHref(a.NextAllocation), shortID(a.NextAllocation)) : ''],
    ]));
    const live = a.ClientStatus === 'running' || a.ClientStatus === 'pending';
    replace(acts,
      action('Restart', `Restart every task of allocation ${shortID(a.ID)}?`, () => post(`/v1/client/allocation/${a.ID}/restart`, {}), actErr, { disabled: !live }),
      action('Stop', `Stop allocation ${shortID(a.ID)}? The scheduler places a replacement.`, () => post(`/v1/allocation/${a.ID}/stop`, {}), actErr, { class: 'danger', disabled: a.DesiredStatus !== 'run' }));
    const names = Object.keys(a.TaskStates || {}).sort();
    // Why it failed, first: the failed tasks' telling events, with their
    // stderr one click away.
    const why = taskFailures(a).map(({ task, ev }) => h('li', {}, `Task ${task} failed`, ev ? `: ${describe(ev)}. ` : '. ',
      link(stderrHref(a.ID, task), `stderr of ${task}`)));
    replace(failures, why.length ? h('div', { class: 'error', role: 'status' }, h('strong', {}, 'Why this allocation failed'), h('ul', {}, why)) : null);
    replace(tasks, names.length ? names.map((n) => {
      const ts = a.TaskStates[n];
      return h('div', { class: 'task' },
        h('h3', {}, n, ' ', badge(ts.State), ts.Failed ? ' ' : null, ts.Failed ? badge('failed') : null),
        dl([['Restarts', String(ts.Restarts || 0)], ['Started', fmtTime(ts.StartedAt)], ['Finished', fmtTime(ts.FinishedAt)],
          ['Logs', link(allocHref(a.ID, `/logs?task=${encodeURIComponent(n)}`), `Logs of ${n}`)],
          ['Files', link(allocHref(a.ID, `/fs/${encodeURIComponent(n)}`), `Files of ${n}`)]]),
        events(ts));
    }) : h('p', { class: 'muted' }, 'No task has started yet.'));
    replace(net, ports(a));
    drawRes();
    main.dataset.ready = '1';
  };
  // One request at a time: the allocation as a blocking query, and while it
  // runs, its live usage each time that answers (so the wait is short then).
  const path = `/v1/allocation/${encodeURIComponent(id)}`;
  const statsPath = `/v1/client/allocation/${encodeURIComponent(id)}/stats`;
  let running = false;
  (async () => {
    while (!signal.aborted) {
      const sources = [{ key: 'alloc', path, query: {} }];
      if (running) sources.push({ key: 'stats', path: statsPath, query: {} });
      const ctl = new AbortController();
      const stop = () => ctl.abort();
      signal.addEventListener('abort', stop, { once: true });
      await follow(ctl.signal, sources, (d) => {
        // Redraw only on a change: a redraw would move keyboard focus.
        if (d.alloc && d.alloc.ModifyIndex !== alloc?.ModifyIndex) draw(d.alloc);
        if (d.stats) { stats = d.stats; drawRes(); }
        // Switch the source list when the allocation starts or stops running.
        if ((d.alloc?.ClientStatus === 'running') !== running) { running = !running; ctl.abort(); }
      }, (err, key) => { if (key === 'alloc') replace(actErr, errorBox(err, 'Loading the allocation')); }, running ? '3s' : '60s');
      signal.removeEventListener('abort', stop);
    }
  })();
}
