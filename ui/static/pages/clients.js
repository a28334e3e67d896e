// Clients: status, eligibility, drain and drivers of every node.
import { watch } from '../api.js';
import { h, replace, table, badge, link, nodeHref, errorBox } from '../dom.js';

export function drivers(node) {
  const list = Object.entries(node.Drivers || {}).filter(([, d]) => d.Detected).sort(([a], [b]) => a.localeCompare(b));
  if (!list.length) return h('span', { class: 'muted' }, 'none');
  return h('span', { class: 'counts' }, list.map(([name, d]) => h('span', { class: `count ${d.Healthy ? 'st-healthy' : 'st-unhealthy'}`, title: d.HealthDescription || '' }, name + (d.Healthy ? '' : ' (unhealthy)'))));
}

export async function render({ main, signal, title }) {
  title('Clients');
  const out = h('div'), errs = h('div');
  main.append(h('h1', {}, 'Clients'), errs, out);
  watch('/v1/nodes', {}, signal, (nodes) => {
    nodes = (nodes || []).sort((a, b) => a.Name.localeCompare(b.Name));
    errs.replaceChildren();
    replace(out, table(null, [
      { label: 'Name', cell: (n) => link(nodeHref(n.ID), n.Name) },
      { label: 'Status', cell: (n) => badge(n.Status) },
      { label: 'Eligibility', cell: (n) => badge(n.SchedulingEligibility) },
      { label: 'Drain', cell: (n) => (n.Drain ? badge('draining') : 'no') },
      { label: 'Drivers', cell: drivers },
      { label: 'Address', cell: (n) => n.Address, class: 'mono hide-narrow' },
      { label: 'Datacenter', cell: (n) => n.Datacenter, class: 'hide-narrow' },
      { label: 'Pool', cell: (n) => n.NodePool, class: 'hide-narrow' },
    ], nodes, 'No clients have registered.'));
    main.dataset.ready = '1';
  }, (err) => replace(errs, errorBox(err, 'Loading clients')));
}
