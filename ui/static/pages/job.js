// A job: task groups with their summaries, allocations, evaluations with
// placement failures, versions with diffs, stop and start. One blocking
// query (the job's allocations, which change most) paces the page; the
// job, its evaluations and summary are fetched each time it answers, the
// versions when the job changed.
import { follow, get, post, del, nsQuery } from '../api.js';
import { h, replace, table, badge, allocHref, nodeHref, summaryCounts, errorBox, section, dl, link, shortID, fmtTime, action } from '../dom.js';
import { diffView, placementFailures } from '../diff.js';

export async function render({ main, params, signal, title }) {
  const id = params[0];
  const ns = nsQuery();
  const base = `/v1/job/${encodeURIComponent(id)}`;
  title(`Job ${id}`);
  const head = h('div');
  const acts = h('div', { class: 'toolbar' });
  const actErr = h('div');
  const groups = h('div'), allocs = h('div'), evals = h('div'), versions = h('div');
  main.append(
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('ol', {}, h('li', {}, link('/ui/jobs', 'Jobs')), h('li', {}, h('span', { 'aria-current': 'page' }, id)))),
    head, acts, actErr,
    section('Task groups', groups), section('Allocations', allocs),
    section('Evaluations', evals), section('Versions', versions));
  let job = null, summary = null;

  const drawHead = () => {
    if (!job) return;
    const status = job.Stop ? 'stopped' : job.Status;
    replace(head, h('h1', {}, job.ID, badge(status)), dl([
      ['Type', job.Type], ['Priority', String(job.Priority)], ['Version', String(job.Version)],
      ['Namespace', job.Namespace], ['Datacenters', (job.Datacenters || []).join(', ')], ['Node pool', job.NodePool],
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
  const drawAllocs = (list) => {
    list = (list || []).sort((a, b) => b.CreateIndex - a.CreateIndex);
    replace(allocs, table(null, [
      { label: 'ID', cell: (a) => link(allocHref(a.ID), shortID(a.ID), { class: 'mono' }) },
      { label: 'Group', cell: (a) => a.TaskGroup },
      { label: 'Status', cell: (a) => badge(a.ClientStatus) },
      { label: 'Desired', cell: (a) => a.DesiredStatus },
      { label: 'Node', cell: (a) => (a.NodeID ? link(nodeHref(a.NodeID), a.NodeName || shortID(a.NodeID)) : '') },
      { label: 'Version', cell: (a) => String(a.JobVersion), class: 'num hide-narrow' },
      { label: 'Modified', cell: (a) => fmtTime(a.ModifyTime), class: 'hide-narrow' },
    ], list, 'No allocations.'));
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

  follow(signal, [
    { key: 'allocs', path: `${base}/allocations`, query: ns },
    { key: 'job', path: base, query: ns },
    { key: 'evals', path: `${base}/evaluations`, query: ns },
    { key: 'summary', path: `${base}/summary`, query: ns },
  ], (d) => {
    actErr.replaceChildren();
    job = d.job; summary = d.summary;
    if (!job) return;
    performance.mark('roam:data');
    drawHead(); drawGroups(); drawAllocs(d.allocs); drawEvals(d.evals);
    performance.mark('roam:drawn');
    drawVersions();
    main.dataset.ready = '1';
  }, (err, key) => {
    if (key === 'job' && !job) replace(head, h('h1', {}, id));
    if (!signal.aborted) replace(actErr, errorBox(err, `Loading the job's ${key}`));
  });
}
