// diff.js: renders the API's job diffs (JobDiff, TaskGroupDiff, TaskDiff,
// ObjectDiff, FieldDiff) as an indented +/-/~ listing, as `job plan` does.
import { h } from './dom.js';

const mark = { Added: '+', Deleted: '-', Edited: '~', None: ' ' };

function line(depth, type, text) {
  return h('div', { class: `d-${(type || 'none').toLowerCase()}` }, '  '.repeat(depth) + (mark[type] || ' ') + ' ' + text);
}

function fields(out, depth, list) {
  for (const f of list || []) {
    if (f.Type === 'None') continue;
    let v = f.Type === 'Added' ? JSON.stringify(f.New) : f.Type === 'Deleted' ? JSON.stringify(f.Old) : `${JSON.stringify(f.Old)} => ${JSON.stringify(f.New)}`;
    const notes = (f.Annotations || []).length ? ` (${f.Annotations.join(', ')})` : '';
    out.push(line(depth, f.Type, `${f.Name}: ${v}${notes}`));
  }
}

function objects(out, depth, list) {
  for (const o of list || []) {
    if (o.Type === 'None') continue;
    out.push(line(depth, o.Type, `${o.Name} {`));
    fields(out, depth + 1, o.Fields);
    objects(out, depth + 1, o.Objects);
    out.push(line(depth, 'None', '}'));
  }
}

// diffLines returns the lines of a JobDiff; none when nothing changed.
export function diffLines(d) {
  const out = [];
  if (!d || d.Type === 'None') return out;
  out.push(line(0, d.Type, `Job: ${JSON.stringify(d.ID)}`));
  fields(out, 1, d.Fields);
  objects(out, 1, d.Objects);
  for (const tg of d.TaskGroups || []) {
    const updates = Object.entries(tg.Updates || {}).map(([k, n]) => `${n} ${k}`).join(', ');
    if (tg.Type === 'None' && !updates) continue;
    out.push(line(1, tg.Type, `Task Group: ${JSON.stringify(tg.Name)}${updates ? ` (${updates})` : ''}`));
    fields(out, 2, tg.Fields);
    objects(out, 2, tg.Objects);
    for (const t of tg.Tasks || []) {
      if (t.Type === 'None') continue;
      const notes = (t.Annotations || []).length ? ` (${t.Annotations.join(', ')})` : '';
      out.push(line(2, t.Type, `Task: ${JSON.stringify(t.Name)}${notes}`));
      fields(out, 3, t.Fields);
      objects(out, 3, t.Objects);
    }
  }
  return out;
}

// diffView renders a JobDiff, or says there is no change.
export function diffView(d, label) {
  const lines = diffLines(d);
  if (!lines.length) return h('p', { class: 'muted' }, 'No changes.');
  return h('div', { class: 'diff', role: 'region', 'aria-label': label || 'Job diff', tabindex: '0' }, lines);
}

// placementFailures explains why a task group could not be placed, from
// an AllocMetric: how many nodes were looked at and what ruled them out.
export function placementFailures(failed) {
  const groups = Object.entries(failed || {});
  if (!groups.length) return null;
  return h('div', { class: 'warn placement' }, groups.map(([tg, m]) => {
    const reasons = [];
    const add = (map, what) => Object.entries(map || {}).forEach(([k, n]) => reasons.push(`${what} ${k}: ${n} node${n === 1 ? '' : 's'}`));
    add(m.ConstraintFiltered, 'Constraint');
    add(m.ClassFiltered, 'Class');
    add(m.DimensionExhausted, 'Resources exhausted:');
    add(m.ClassExhausted, 'Class exhausted:');
    (m.QuotaExhausted || []).forEach((q) => reasons.push(`Quota exhausted: ${q}`));
    const pool = m.NodePool ? ` in node pool ${m.NodePool}` : '';
    return h('div', {},
      h('strong', {}, `Task group "${tg}" failed to place${m.CoalescedFailures ? ` (${m.CoalescedFailures + 1} allocations)` : ''}`),
      h('p', {}, `${m.NodesEvaluated || 0} nodes evaluated${pool}, ${m.NodesFiltered || 0} filtered, ${m.NodesExhausted || 0} exhausted` +
        (m.NodesInPool !== undefined ? `, ${m.NodesInPool} in pool` : '') + '.'),
      reasons.length ? h('ul', {}, reasons.map((r) => h('li', {}, r))) : h('p', {}, Object.keys(m.NodesAvailable || {}).length ? '' : 'No node is available in the job\'s datacenters.'));
  }));
}
