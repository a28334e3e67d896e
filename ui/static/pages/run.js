// Run a job: paste or edit a job file (HCL, or the JSON of a job), check
// it (/v1/jobs/parse for line:column errors, /v1/validate/job for the
// rest), plan it (/v1/job/:id/plan: the diff and placement failures),
// then run it (/v1/jobs, pinned to the planned version) and go to its
// page. ?job=ID loads an existing job (as JSON) to edit and plan a change.
import { get, post, nsQuery } from '../api.js';
import { h, replace, errorBox, dl, jobHref, button, announce } from '../dom.js';
import { diffView, placementFailures } from '../diff.js';
import { navigate } from '../app.js';

const example = `job "example" {
  datacenters = ["*"]
  type = "service"

  group "web" {
    count = 1
    task "server" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "while true; do echo hello; sleep 5; done"]
      }
      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
`;

// position finds "file:line:col" in a parser message.
export function position(msg) {
  const m = /:(\d+):(\d+)/.exec(msg || '');
  return m ? { line: Number(m[1]), col: Number(m[2]) } : null;
}

function editor(text) {
  const gutter = h('pre', { class: 'gutter', 'aria-hidden': 'true' });
  const area = h('textarea', { id: 'job-source', spellcheck: 'false', autocapitalize: 'off', 'aria-describedby': 'job-help', wrap: 'off' });
  area.value = text;
  const lines = () => {
    const n = area.value.split('\n').length;
    const bad = Number(area.dataset.badLine || 0);
    gutter.replaceChildren(...Array.from({ length: n }, (_, i) => h('div', { class: i + 1 === bad ? 'bad' : null }, String(i + 1))));
  };
  area.addEventListener('input', () => { delete area.dataset.badLine; lines(); });
  area.addEventListener('scroll', () => { gutter.scrollTop = area.scrollTop; });
  // Tab indents inside the editor; Escape then Tab (or Shift+Tab) leaves it.
  let escaped = false;
  area.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') { escaped = true; return; }
    if (e.key === 'Tab' && !e.shiftKey && !escaped) {
      e.preventDefault();
      area.setRangeText('  ', area.selectionStart, area.selectionEnd, 'end');
      lines();
    }
    escaped = false;
  });
  lines();
  return { el: h('div', { class: 'editor' }, gutter, area), area, mark: (line) => { area.dataset.badLine = String(line); lines(); } };
}

export async function render({ main, query, signal, title }) {
  title('Run a job');
  const ns = nsQuery();
  let text = example;
  const jobID = query.get('job');
  if (jobID) {
    const job = await get(`/v1/job/${encodeURIComponent(jobID)}`, { query: ns, signal });
    for (const k of ['Status', 'StatusDescription', 'CreateIndex', 'ModifyIndex', 'JobModifyIndex', 'SubmitTime', 'Version', 'Stable']) delete job[k];
    text = JSON.stringify(job, null, 2);
  }
  const ed = editor(text);
  const out = h('div', { id: 'run-result', 'aria-live': 'polite' });
  const planBtn = button('Plan', () => plan(), { class: 'primary', id: 'plan' });
  const runBtn = button('Run', () => run(), { id: 'run', disabled: true });
  main.append(h('h1', {}, jobID ? `Edit job ${jobID}` : 'Run a job'),
    h('p', { id: 'job-help', class: 'muted' }, 'A job file in HCL, or a job as JSON. Plan shows what would change and whether it can be placed; Run submits the planned version. Tab indents; Escape then Tab leaves the editor.'),
    h('label', { for: 'job-source' }, 'Job file'), ed.el,
    h('div', { class: 'toolbar' }, planBtn, runBtn), out);
  main.dataset.ready = '1';
  let planned = null; // {job, modifyIndex, source} of the last good plan

  ed.area.addEventListener('input', () => { runBtn.disabled = true; planned = null; });

  // parse turns the editor's text into a job, or shows where it is wrong.
  async function parse() {
    const src = ed.area.value;
    if (src.trim().startsWith('{')) {
      let v;
      try { v = JSON.parse(src); } catch (err) { throw Object.assign(new Error(`JSON: ${err.message}`), { what: 'Reading the job' }); }
      return v.Job || v;
    }
    try {
      return await post('/v1/jobs/parse', { JobHCL: src, Canonicalize: true }, { signal });
    } catch (err) {
      const pos = position(err.message);
      if (pos) {
        ed.mark(pos.line);
        const lines = src.split('\n');
        const offset = lines.slice(0, pos.line - 1).reduce((n, l) => n + l.length + 1, 0) + pos.col - 1;
        ed.area.setSelectionRange(offset, offset);
      }
      err.what = pos ? `Line ${pos.line}, column ${pos.col}` : 'Parsing the job file';
      throw err;
    }
  }

  async function plan() {
    planBtn.disabled = true; runBtn.disabled = true; planned = null;
    replace(out, h('p', {}, 'Planning…'));
    try {
      const job = await parse();
      const v = await post('/v1/validate/job', { Job: job }, { query: ns, signal });
      if ((v.ValidationErrors || []).length) {
        replace(out, h('div', { class: 'error', role: 'alert' }, h('strong', {}, 'The job is not valid:'),
          h('ul', {}, v.ValidationErrors.map((e) => h('li', {}, e)))));
        return;
      }
      const p = await post(`/v1/job/${encodeURIComponent(job.ID)}/plan`, { Job: job, Diff: true }, { query: ns, signal });
      const src = ed.area.value;
      planned = { job, modifyIndex: p.JobModifyIndex, source: src.trim().startsWith('{') ? null : src };
      const updates = Object.entries(p.Annotations?.DesiredTGUpdates || {}).map(([tg, u]) =>
        [tg, Object.entries(u).filter(([, n]) => n).map(([k, n]) => `${n} ${k.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase()}`).join(', ') || 'no change']);
      replace(out, h('h2', {}, `Plan for job ${job.ID}`),
        p.Warnings ? h('div', { class: 'warn' }, p.Warnings) : null,
        updates.length ? dl(updates) : null,
        diffView(p.Diff, 'Plan diff'),
        placementFailures(p.FailedTGAllocs) || h('p', { class: 'note' }, 'Every task group can be placed.'));
      runBtn.disabled = false;
      announce('plan ready');
    } catch (err) {
      if (!signal.aborted) replace(out, errorBox(err, err.what || 'Planning'));
    } finally {
      planBtn.disabled = false;
    }
  }

  async function run() {
    if (!planned) return;
    runBtn.disabled = true;
    try {
      // Pinned to the planned version: if the job changed since, the agent
      // refuses instead of running something nobody looked at.
      const submission = planned.source ? { Source: planned.source, Format: 'hcl2' } : undefined;
      await post('/v1/jobs', { Job: planned.job, Submission: submission, EnforceIndex: true, JobModifyIndex: planned.modifyIndex }, { query: ns, signal });
      navigate(jobHref(planned.job.ID, planned.job.Namespace));
    } catch (err) {
      if (!signal.aborted) replace(out, errorBox(err, 'Running the job'));
      runBtn.disabled = false;
    }
  }
}
