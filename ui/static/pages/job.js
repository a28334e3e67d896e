// A job: task groups with their summaries, allocations, evaluations with
// placement failures, its latest deployment and every deployment, versions
// with diffs, stop and start. One blocking query (the job's allocations,
// which change most) paces the page; the job, its evaluations, summary and
// deployments are fetched each time it answers, the versions when the job
// changed. A deployment's counters change in the same write as the
// allocations they count, so its progress shows at once.
//
// A periodic or parameterized job (a template) has no allocations of its
// own: its page is paced by its summary, whose blocking query wakes when a
// child changes, and lists its children with the schedule or the dispatch
// form.
import { follow, get, post, del, request, nsQuery } from '../api.js';
import { h, replace, table, pagedTable, badge, allocHref, nodeHref, jobHref, summaryCounts, errorBox, section, dl, link, shortID, fmtTime, action } from '../dom.js';
import { diffView, placementFailures } from '../diff.js';
import { latestView, listView } from '../deploy.js';
import { taskFailures, describe, stderrHref } from './alloc.js';
import { isTemplate, isPeriodic, childPrefix, childrenView, periodicView, dispatchView } from '../children.js';

export async function render({ main, params, signal, title }) {
  const id = params[0];
  const ns = nsQuery();
  const base = `/v1/job/${encodeURIComponent(id)}`;
  title(`Job ${id}`);
  // The first read of the job says which sources pace the page; a failure
  // here is shown by follow, which reads the job again. The sources of a
  // job that is not a template are asked for at the same time (most jobs
  // are not), so the page's first round costs one round trip, not two.
  const early = (path, query = ns) => {
    const p = request('GET', path, { query, signal });
    p.catch(() => {}); // a failure is follow's to report, when it is used
    return p;
  };
  const firstJob = early(base);
  const pre = { allocs: early(`${base}/allocations`), evals: early(`${base}/evaluations`),
    summary: early(`${base}/summary`), deployments: early(`${base}/deployments`) };
  let firstErr = null;
  const first = await firstJob.then((r) => r.data).catch((err) => { firstErr = err; return null; });
  if (signal.aborted) return;
  // A job that is not there is said at once, by the first read's 404,
  // instead of a page of empty sections waiting on reads that cannot succeed.
  if (firstErr?.status === 404) { notFound(main, id, ns.namespace || 'default'); return; }
  const template = isTemplate(first);
  // Batch jobs roll out without deployments.
  const deploys = !template && !['batch', 'sysbatch'].includes(first?.Type);
  const head = h('div');
  const acts = h('div', { class: 'toolbar' });
  const actErr = h('div');
  const groups = h('div'), allocs = h('div'), evals = h('div'), versions = h('div');
  const latest = h('div', { id: 'deployment' }), depErr = h('div'), deps = h('div', { id: 'deployments' });
  const tmpl = h('div', { id: 'template' }), tmplErr = h('div'), children = h('div', { id: 'children' });
  const parts = template
    ? [section(isPeriodic(first) ? 'Schedule' : 'Dispatch', tmplErr, tmpl), section('Task groups', groups), section('Child jobs', children)]
    : [section('Task groups', groups), deploys && section('Latest deployment', depErr, latest), section('Allocations', allocs),
      section('Evaluations', evals), deploys && section('Deployments', deps)];
  main.append(
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('ol', {}, h('li', {}, link('/ui/jobs', 'Jobs')), h('li', {}, h('span', { 'aria-current': 'page' }, id)))),
    head, acts, actErr, ...parts.filter(Boolean), section('Versions', versions));
  let job = null, summary = null;

  const drawHead = () => {
    if (!job) return;
    const status = job.Stop ? 'stopped' : job.Status;
    replace(head, h('h1', {}, job.ID, badge(status)), dl([
      ['Type', job.Type], ['Priority', String(job.Priority)], ['Version', String(job.Version)],
      ['Namespace', job.Namespace], ['Datacenters', (job.Datacenters || []).join(', ')], ['Node pool', job.NodePool],
      ['Parent', job.ParentID ? link(jobHref(job.ParentID, job.Namespace), job.ParentID) : ''],
      ['Submitted', fmtTime(job.SubmitTime)], ['Status description', job.StatusDescription],
    ]));
    const stopBtn = job.Stop
      ? action('Start', null, async () => { const j = await get(base, { query: ns, signal }); j.Stop = false; await post('/v1/jobs', { Job: j }, { query: ns }); }, actErr, { class: 'primary' })
      : action('Stop', `Stop job ${job.ID}? Its allocations will be stopped.`, () => del(base, { query: ns }), actErr, { class: 'danger' });
    replace(acts, stopBtn, link(`/ui/run?job=${encodeURIComponent(job.ID)}${job.Namespace && job.Namespace !== 'default' ? '&namespace=' + encodeURIComponent(job.Namespace) : ''}`, 'Edit and plan a change'));
  };
  const drawGroups = () => {
    if (!job) return;
    replace(groups, table(null, [
      { label: 'Group', cell: (tg) => tg.Name },
      { label: 'Count', cell: (tg) => String(tg.Count), class: 'num' },
      { label: 'Allocations', cell: (tg) => summaryCounts(summary?.Summary?.[tg.Name]) },
      { label: 'Tasks', cell: (tg) => (tg.Tasks || []).map((t) => `${t.Name} (${t.Driver})`).join(', ') },
      { label: 'Network', cell: (tg) => (tg.Networks || []).map((n) => n.Mode || 'host').join(', ') || 'host', class: 'hide-narrow' },
    ], job.TaskGroups || []));
  };
  let shownVersion = null;
  const drawVersions = async () => {
    const key = `${job.Version}/${job.ModifyIndex}`;
    if (key === shownVersion) return;
    shownVersion = key;
    try {
      const v = await get(`${base}/versions`, { query: { ...ns, diffs: 'true' }, signal });
      replace(versions, (v.Versions || []).map((ver, i) => h('details', { open: i === 0 },
        h('summary', {}, `Version ${ver.Version}`, ver.Stable ? ' (stable)' : '', ` · submitted ${fmtTime(ver.SubmitTime)}`),
        i < (v.Versions.length - 1) ? diffView(v.Diffs?.[i], `Changes in version ${ver.Version}`) : h('p', { class: 'muted' }, 'The first version.'))));
    } catch (err) {
      if (!signal.aborted) replace(versions, errorBox(err, 'Loading versions'));
    }
  };
  // A failed allocation says why in its row: its failed tasks' telling
  // events, each with a link to the task's stderr.
  const failedWhy = (a) => (a.ClientStatus !== 'failed' ? '' : taskFailures(a).map(({ task, ev }) =>
    h('div', {}, `${task}: ${ev ? describe(ev) : 'failed'} `, link(stderrHref(a.ID, task), 'stderr', { 'aria-label': `stderr of ${task} in ${shortID(a.ID)}` }))));
  // The allocations a page at a time, newest first; the filter searches
  // them all by ID, group, status, node and version.
  const allocPages = pagedTable({ label: 'allocations', empty: 'No allocations.',
    text: (a) => [a.ID, a.TaskGroup, a.ClientStatus, a.DesiredStatus, a.NodeName, a.NodeID, `v${a.JobVersion}`].join(' ') });
  allocs.append(allocPages.el);
  const drawAllocs = (list) => {
    list = (list || []).sort((a, b) => b.CreateIndex - a.CreateIndex);
    allocPages.set(list, [
      { label: 'ID', cell: (a) => link(allocHref(a.ID), shortID(a.ID), { class: 'mono' }) },
      { label: 'Group', cell: (a) => a.TaskGroup },
      { label: 'Status', cell: (a) => badge(a.ClientStatus) },
      list.some((a) => a.ClientStatus === 'failed') && { label: 'Why it failed', cell: failedWhy },
      { label: 'Desired', cell: (a) => a.DesiredStatus },
      { label: 'Node', cell: (a) => (a.NodeID ? link(nodeHref(a.NodeID), a.NodeName || shortID(a.NodeID)) : '') },
      { label: 'Version', cell: (a) => String(a.JobVersion), class: 'num hide-narrow' },
      { label: 'Modified', cell: (a) => fmtTime(a.ModifyTime), class: 'hide-narrow' },
    ].filter(Boolean));
  };
  const drawEvals = (list) => {
    list = (list || []).sort((a, b) => b.CreateIndex - a.CreateIndex);
    const blocked = list.filter((e) => Object.keys(e.FailedTGAllocs || {}).length);
    replace(evals,
      blocked.length ? placementFailures(blocked[0].FailedTGAllocs) : null,
      table(null, [
        { label: 'ID', cell: (e) => link(`/ui/evaluations/${e.ID}`, shortID(e.ID), { class: 'mono' }) },
        { label: 'Status', cell: (e) => badge(e.Status) },
        { label: 'Triggered by', cell: (e) => e.TriggeredBy },
        { label: 'Placement failures', cell: (e) => (Object.keys(e.FailedTGAllocs || {}).length ? Object.keys(e.FailedTGAllocs).join(', ') : 'none') },
        { label: 'Description', cell: (e) => e.StatusDescription || '', class: 'hide-narrow' },
      ], list.slice(0, 20), 'No evaluations.'));
  };

  // A template's parameters are drawn when its spec changes, not on every
  // answer: the dispatch form keeps what the user typed. A periodic job's
  // next launch is the servers' answer (the plan of the job as it stands,
  // which for a template schedules nothing), asked again once it passed.
  let shownSpec = null, nextTimer = null;
  signal.addEventListener('abort', () => clearTimeout(nextTimer));
  const drawTemplate = async () => {
    const key = `${job.JobModifyIndex}/${job.Stop}`;
    if (key === shownSpec) return;
    shownSpec = key;
    if (!isPeriodic(job)) { dispatchView(tmpl, tmplErr, job, ns); return; }
    periodicView(tmpl, tmplErr, job, null, ns);
    if (job.Stop || !job.Periodic.Enabled) return;
    try {
      const plan = await post(`${base}/plan`, { Job: job, Diff: false }, { query: ns, signal });
      const at = Date.parse(plan.NextPeriodicLaunch);
      const next = at > Date.UTC(1971) ? plan.NextPeriodicLaunch : '';
      periodicView(tmpl, tmplErr, job, next, ns);
      clearTimeout(nextTimer);
      if (next) nextTimer = setTimeout(() => { shownSpec = null; drawTemplate(); }, Math.min(Math.max(at - Date.now() + 1000, 1000), 86400000));
    } catch (err) {
      if (!signal.aborted) replace(tmplErr, errorBox(err, 'Asking for the next launch'));
    }
  };

  const sources = template ? [
    { key: 'summary', path: `${base}/summary`, query: ns, first: pre.summary },
    { key: 'job', path: base, query: ns, first: first ? firstJob : null },
    { key: 'children', path: '/v1/jobs', query: { ...ns, prefix: childPrefix(first), meta: 'true' } },
  ] : [
    { key: 'allocs', path: `${base}/allocations`, query: ns, first: pre.allocs },
    { key: 'job', path: base, query: ns, first: first ? firstJob : null },
    { key: 'evals', path: `${base}/evaluations`, query: ns, first: pre.evals },
    { key: 'summary', path: `${base}/summary`, query: ns, first: pre.summary },
    deploys ? { key: 'deployments', path: `${base}/deployments`, query: ns, first: pre.deployments } : null,
  ].filter(Boolean);
  follow(signal, sources, (d) => {
    actErr.replaceChildren();
    job = d.job; summary = d.summary;
    if (!job) return;
    performance.mark('roam:data');
    drawHead(); drawGroups();
    if (template) {
      drawTemplate();
      childrenView(children, job, d.children, summary?.Children);
    } else {
      drawAllocs(d.allocs); drawEvals(d.evals);
      if (deploys) { latestView(latest, depErr, d.deployments?.[0], ns); listView(deps, d.deployments); }
    }
    performance.mark('roam:drawn');
    drawVersions();
    main.dataset.ready = '1';
  }, (err, key) => {
    if (key === 'job' && !job) replace(head, h('h1', {}, id));
    if (!signal.aborted) replace(actErr, errorBox(err, `Loading the job's ${key}`));
  });
}

// notFound is the page of a job the agent does not know.
function notFound(main, id, namespace) {
  main.append(
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('ol', {}, h('li', {}, link('/ui/jobs', 'Jobs')), h('li', {}, h('span', { 'aria-current': 'page' }, id)))),
    h('h1', {}, id),
    h('div', { class: 'error', role: 'alert' }, `job ${id} not found in namespace ${namespace}`));
  main.dataset.ready = '1';
}
