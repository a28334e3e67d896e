// An evaluation: why it ran, what it decided, and placement failures.
import { watch, get } from '../api.js';
import { h, replace, badge, dl, link, jobHref, allocHref, table, shortID, errorBox, section, fmtTime } from '../dom.js';
import { placementFailures } from '../diff.js';

export async function render({ main, params, signal, title }) {
  const id = params[0];
  title(`Evaluation ${shortID(id)}`);
  const crumbs = h('div'), body = h('div'), allocs = h('div');
  main.append(crumbs, h('h1', {}, `Evaluation ${shortID(id)}`), body, section('Allocations', allocs));
  watch(`/v1/evaluation/${encodeURIComponent(id)}`, {}, signal, async (e) => {
    // Back to the job the evaluation is about.
    replace(crumbs, h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('ol', {},
      h('li', {}, link('/ui/jobs', 'Jobs')), h('li', {}, link(jobHref(e.JobID, e.Namespace), e.JobID)),
      h('li', {}, h('span', { 'aria-current': 'page' }, `Evaluation ${shortID(id)}`)))));
    replace(body, dl([
      ['Status', badge(e.Status)], ['Job', link(jobHref(e.JobID, e.Namespace), e.JobID)], ['Type', e.Type],
      ['Triggered by', e.TriggeredBy], ['Description', e.StatusDescription], ['Blocked evaluation', e.BlockedEval],
      ['Created', fmtTime(e.CreateTime)], ['Modified', fmtTime(e.ModifyTime)],
    ]), placementFailures(e.FailedTGAllocs));
    main.dataset.ready = '1';
    const list = await get(`/v1/evaluation/${encodeURIComponent(id)}/allocations`, { signal }).catch(() => []);
    replace(allocs, table(null, [
      { label: 'ID', cell: (a) => link(allocHref(a.ID), shortID(a.ID), { class: 'mono' }) },
      { label: 'Group', cell: (a) => a.TaskGroup },
      { label: 'Status', cell: (a) => badge(a.ClientStatus) },
    ], list || []));
  }, (err) => replace(body, errorBox(err, 'Loading the evaluation')));
}
