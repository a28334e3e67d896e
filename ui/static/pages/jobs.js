// The jobs list: status, type, summary counts, filter and search, kept
// current with a blocking query on /v1/jobs.
import { watch } from '../api.js';
import { h, replace, table, badge, jobHref, summaryCounts, errorBox, link } from '../dom.js';

const types = ['', 'service', 'batch', 'system', 'sysbatch'];
const statuses = ['', 'running', 'pending', 'dead'];

// totals adds the task group summaries of a job.
function totals(job) {
  const out = {};
  for (const s of Object.values(job.JobSummary?.Summary || {})) {
    for (const [k, v] of Object.entries(s)) out[k] = (out[k] || 0) + v;
  }
  return out;
}

function matches(job, f) {
  const q = f.q.toLowerCase();
  return (!q || job.ID.toLowerCase().includes(q) || (job.Name || '').toLowerCase().includes(q)) &&
    (!f.type || job.Type === f.type) && (!f.status || job.Status === f.status);
}

export async function render({ main, query, signal, title }) {
  title('Jobs');
  const f = { q: query.get('q') || '', type: query.get('type') || '', status: query.get('status') || '' };
  let jobs = null;
  const out = h('div', { id: 'jobs-out' });
  const errs = h('div');
  const overview = h('p', { class: 'muted', id: 'jobs-overview' });
  // The filter lives in the URL, so a filtered list can be shared and the
  // back button restores it.
  const update = () => {
    const q = new URLSearchParams(location.search);
    for (const [k, v] of Object.entries(f)) v ? q.set(k, v) : q.delete(k);
    const s = q.toString();
    history.replaceState(null, '', location.pathname + (s ? '?' + s : ''));
    draw();
  };
  const select = (id, label, key, opts) => h('label', { for: id }, label,
    h('select', { id, onchange: (e) => { f[key] = e.target.value; update(); } },
      opts.map((o) => h('option', { value: o, selected: o === f[key] }, o || 'any'))));
  const toolbar = h('form', { class: 'toolbar', role: 'search', onsubmit: (e) => e.preventDefault() },
    h('label', { for: 'job-search' }, 'Search',
      h('input', { id: 'job-search', type: 'search', value: f.q, placeholder: 'job name', oninput: (e) => { f.q = e.target.value; update(); } })),
    select('job-type', 'Type', 'type', types),
    select('job-status', 'Status', 'status', statuses));
  main.append(h('h1', {}, 'Jobs', link('/ui/run', 'Run a job', { class: 'muted' })), overview, toolbar, errs, out);

  function draw() {
    if (!jobs) return;
    const shown = jobs.filter((j) => matches(j, f));
    const byStatus = {};
    for (const j of jobs) byStatus[j.Status] = (byStatus[j.Status] || 0) + 1;
    replace(overview, `${jobs.length} jobs: `, Object.entries(byStatus).map(([s, n]) => `${n} ${s}`).join(', ') || 'none yet',
      shown.length !== jobs.length ? ` (${shown.length} shown)` : '');
    replace(out, table(null, [
      { label: 'Name', cell: (j) => link(jobHref(j.ID, j.Namespace), j.ID) },
      { label: 'Status', cell: (j) => badge(j.Stop ? 'stopped' : j.Status) },
      { label: 'Type', cell: (j) => j.Type },
      { label: 'Allocations', cell: (j) => summaryCounts(totals(j)) },
      { label: 'Namespace', cell: (j) => j.Namespace, class: 'hide-narrow' },
      { label: 'Priority', cell: (j) => String(j.Priority), class: 'num hide-narrow' },
    ], shown, jobs.length ? 'No job matches the filter.' : 'No jobs yet. Run one from the "Run a job" page or with roam job run.'));
    main.dataset.ready = '1';
  }

  watch('/v1/jobs', { meta: 'true', namespace: query.get('namespace') || '*' }, signal,
    (data) => { jobs = (data || []).sort((a, b) => a.ID.localeCompare(b.ID)); errs.replaceChildren(); draw(); },
    (err) => replace(errs, errorBox(err, 'Loading jobs')));
}
