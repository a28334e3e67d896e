// children.js: what a periodic or parameterized job (a template) shows on
// its page instead of allocations: its schedule and next launch or its
// dispatch parameters, Force launch or a dispatch form, and the child jobs
// it created. Children are found as the CLI finds them: by ID prefix
// (<parent>/periodic- or <parent>/dispatch-), then by ParentID.
import { post, bytesB64 } from './api.js';
import { h, replace, table, badge, dl, jobHref, link, fmtTime, errorBox, announce, button, summaryCounts } from './dom.js';

// isPeriodic and isParameterized tell a template from an ordinary job (and
// from a child, which has neither: a dispatched child is marked Dispatched).
export const isPeriodic = (j) => !!j?.Periodic;
export const isParameterized = (j) => !!j?.ParameterizedJob && !j.Dispatched;
export const isTemplate = (j) => isPeriodic(j) || isParameterized(j);

// childPrefix is the ID prefix every child of the template carries.
export const childPrefix = (j) => j.ID + (isPeriodic(j) ? '/periodic-' : '/dispatch-');

// totals adds the task group summaries of a child job stub.
function totals(stub) {
  const out = {};
  for (const s of Object.values(stub.JobSummary?.Summary || {})) {
    for (const [k, v] of Object.entries(s)) out[k] = (out[k] || 0) + v;
  }
  return out;
}

// shownChildren bounds the table: a job launched every few seconds has
// hundreds of children until they are garbage-collected.
const shownChildren = 50;

// childrenView lists the template's children, newest first.
export function childrenView(out, parent, stubs, counts) {
  const kids = (stubs || []).filter((s) => s.ParentID === parent.ID).sort((a, b) => b.CreateIndex - a.CreateIndex);
  const c = counts || {};
  replace(out,
    h('p', { class: 'muted', id: 'children-counts' }, `${c.Pending || 0} pending, ${c.Running || 0} running, ${c.Dead || 0} dead`,
      kids.length > shownChildren ? ` (the newest ${shownChildren} of ${kids.length} shown)` : ''),
    table(null, [
      { label: 'Job', cell: (s) => link(jobHref(s.ID, s.Namespace), s.ID) },
      { label: 'Status', cell: (s) => badge(s.Status) },
      { label: 'Allocations', cell: (s) => summaryCounts(totals(s)) },
      { label: 'Submitted', cell: (s) => fmtTime(s.SubmitTime), class: 'hide-narrow' },
    ], kids.slice(0, shownChildren), isPeriodic(parent) ? 'No launches yet.' : 'Not dispatched yet.'));
}

// write runs one of the template's actions, showing its error in errOut
// and what it created in doneOut.
function write(label, errOut, fn) {
  return async (ev) => {
    ev.preventDefault?.();
    const b = ev.submitter || ev.currentTarget;
    b.disabled = true;
    errOut.replaceChildren();
    try {
      await fn();
      announce(`${label}: done`);
    } catch (err) {
      errOut.replaceChildren(errorBox(err, label));
    } finally {
      b.disabled = false;
    }
  };
}

// periodicView shows the schedule, the next launch (nextLaunch: an ISO
// time, '' for none, null while unknown) and Force launch.
export function periodicView(out, errOut, job, nextLaunch, ns) {
  const p = job.Periodic;
  const specs = [p.Spec, ...(p.Specs || [])].filter(Boolean);
  let next = 'unknown';
  if (!p.Enabled) next = 'none (the schedule is disabled)';
  else if (job.Stop) next = 'none (the job is stopped)';
  else if (nextLaunch === '') next = 'none (no spec fires again)';
  else if (nextLaunch) next = h('time', { datetime: nextLaunch }, fmtTime(nextLaunch));
  const force = button('Force launch', write('Force launch', errOut, async () => {
    await post(`/v1/job/${encodeURIComponent(job.ID)}/periodic/force`, {}, { query: ns });
  }), { class: 'primary', id: 'periodic-force', disabled: job.Stop || null });
  replace(out,
    dl([
      ['Cron', specs.join(', ')], ['Time zone', p.TimeZone || 'UTC'],
      ['Prohibit overlap', p.ProhibitOverlap ? 'yes' : 'no'], ['Next launch', h('span', { id: 'next-launch' }, next)],
    ]),
    h('div', { class: 'toolbar' }, force));
}

// dispatchView shows what a dispatch must carry and a form to send one:
// a payload (unless forbidden) and a field per meta key.
export function dispatchView(out, errOut, job, ns) {
  const pj = job.ParameterizedJob;
  const payloadMode = pj.Payload || 'optional';
  const required = pj.MetaRequired || [], optional = pj.MetaOptional || [];
  const done = h('div', { role: 'status' });
  const field = (key, req) => h('label', { for: `meta-${key}` }, `${key}${req ? ' (required)' : ''}`,
    h('input', { id: `meta-${key}`, name: key, required: req || null, dataset: { meta: key } }));
  const payload = payloadMode === 'forbidden' ? null : h('label', { for: 'dispatch-payload' }, `Payload (${payloadMode})`,
    h('textarea', { id: 'dispatch-payload', rows: '4', cols: '50', required: payloadMode === 'required' || null }));
  const form = h('form', { class: 'toolbar', id: 'dispatch-form', 'aria-label': 'Dispatch' },
    payload, required.map((k) => field(k, true)), optional.map((k) => field(k, false)),
    h('button', { type: 'submit', class: 'primary', id: 'dispatch' }, 'Dispatch'));
  form.addEventListener('submit', write('Dispatch', errOut, async () => {
    done.replaceChildren();
    const meta = {};
    for (const el of form.querySelectorAll('[data-meta]')) if (el.value !== '') meta[el.dataset.meta] = el.value;
    const text = form.querySelector('#dispatch-payload')?.value || '';
    const body = { Meta: meta };
    if (text !== '') body.Payload = bytesB64(new TextEncoder().encode(text));
    const r = await post(`/v1/job/${encodeURIComponent(job.ID)}/dispatch`, body, { query: ns });
    done.replaceChildren('Dispatched ', link(jobHref(r.DispatchedJobID, job.Namespace), r.DispatchedJobID));
  }));
  replace(out,
    dl([
      ['Payload', payloadMode], ['Required meta', required.join(', ') || 'none'], ['Optional meta', optional.join(', ') || 'none'],
    ]),
    form, done);
}
