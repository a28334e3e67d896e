// deploy.js: a job's deployments on its page: the latest one with each task
// group's progress and Promote / Fail, and every deployment, newest first.
// The job page fetches /v1/job/:id/deployments with its other sources; the
// first entry is the latest deployment (the API lists newest first).
import { post } from './api.js';
import { h, replace, table, badge, dl, shortID, fmtTime, errorBox, announce, button } from './dom.js';

// active: a deployment that promote and fail still act on.
const active = (d) => d.Status === 'running' || d.Status === 'paused';

// groups returns a deployment's task groups as [name, state], by name.
const groups = (d) => Object.entries(d.TaskGroups || {}).sort(([a], [b]) => a.localeCompare(b));

// awaitingPromotion: groups with canaries not promoted yet.
const awaitingPromotion = (d) => groups(d).filter(([, g]) => g.DesiredCanaries > 0 && !g.Promoted);

// progress sums a deployment's groups for the list: "1/3 healthy".
function progress(d) {
  let healthy = 0, total = 0;
  for (const [, g] of groups(d)) { healthy += g.HealthyAllocs || 0; total += g.DesiredTotal || 0; }
  return `${healthy}/${total} healthy`;
}

const yesNo = (b) => (b ? 'yes' : 'no');

// groupTable shows each task group's counters, as `deployment status` does.
function groupTable(d) {
  return table(null, [
    { label: 'Group', cell: ([name]) => name },
    { label: 'Desired', cell: ([, g]) => String(g.DesiredTotal), class: 'num' },
    { label: 'Placed', cell: ([, g]) => String(g.PlacedAllocs), class: 'num' },
    { label: 'Healthy', cell: ([, g]) => String(g.HealthyAllocs), class: 'num' },
    { label: 'Unhealthy', cell: ([, g]) => String(g.UnhealthyAllocs), class: 'num' },
    { label: 'Canaries', cell: ([, g]) => (g.DesiredCanaries ? `${(g.PlacedCanaries || []).length}/${g.DesiredCanaries}` : 'none'), class: 'num' },
    { label: 'Promoted', cell: ([, g]) => (g.DesiredCanaries ? yesNo(g.Promoted) : '—') },
    { label: 'Auto revert', cell: ([, g]) => yesNo(g.AutoRevert), class: 'hide-narrow' },
    { label: 'Progress deadline', cell: ([, g]) => (active(d) ? fmtTime(g.RequireProgressBy) : ''), class: 'hide-narrow' },
  ], groups(d), 'No task groups.');
}

// latestView renders the latest deployment with its actions into out.
// Errors of the actions go to errOut, which a redraw leaves alone (the
// page redraws on every change, and an error must stay until the next
// attempt); a successful action is shown by the live data itself.
export function latestView(out, errOut, d, ns) {
  if (!d) {
    replace(out, h('p', { class: 'muted' }, 'No deployment: the job has not rolled out a version through one.'));
    return;
  }
  const id = encodeURIComponent(d.ID);
  const act = (label, question, path, body, attrs) => button(label, async (ev) => {
    if (question && !confirm(question)) return;
    const b = ev.currentTarget;
    b.disabled = true;
    errOut.replaceChildren();
    try {
      await post(path, body, { query: ns });
      announce(`${label}: done`);
    } catch (err) {
      errOut.replaceChildren(errorBox(err, label));
    } finally {
      b.disabled = false;
    }
  }, attrs);
  const waiting = awaitingPromotion(d);
  const acts = active(d) ? h('div', { class: 'toolbar' },
    waiting.length ? act('Promote', null, `/v1/deployment/promote/${id}`, { DeploymentID: d.ID, All: true }, { class: 'primary', id: 'deployment-promote' }) : null,
    act('Fail', `Fail deployment ${shortID(d.ID)}? With auto_revert the job goes back to its last stable version.`,
      `/v1/deployment/fail/${id}`, { DeploymentID: d.ID }, { class: 'danger', id: 'deployment-fail' })) : null;
  replace(out,
    h('h3', {}, 'Deployment ', h('span', { class: 'mono' }, shortID(d.ID)), ' ', badge(d.Status)),
    dl([
      ['Job version', String(d.JobVersion)],
      ['Description', d.StatusDescription],
      ['Canaries', waiting.length ? `waiting for promotion: ${waiting.map(([n]) => n).join(', ')}` : ''],
    ]),
    acts, groupTable(d));
}

// listView renders every deployment of the job, newest first.
export function listView(out, list) {
  replace(out, table(null, [
    { label: 'ID', cell: (d) => h('span', { class: 'mono' }, shortID(d.ID)) },
    { label: 'Job version', cell: (d) => String(d.JobVersion), class: 'num' },
    { label: 'Status', cell: (d) => badge(d.Status) },
    { label: 'Progress', cell: (d) => progress(d) },
    { label: 'Description', cell: (d) => d.StatusDescription || '', class: 'hide-narrow' },
  ], list || [], 'No deployments.'));
}
