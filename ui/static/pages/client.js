// A client node: status, eligibility and drain (with the actions), drivers,
// host networks, resources, events and its allocations.
import { follow, get, post } from '../api.js';
import { h, replace, table, badge, dl, link, allocHref, jobHref, shortID, errorBox, section, fmtTime, action } from '../dom.js';

// networkAttrs are the fingerprinted facts about the node's networking:
// what `roam node doctor` checks on the host, as far as the client
// reports it to the servers.
const networkAttr = /^(unique\.network\.|network\.|nomad\.bridge|plugins\.cni|driver\.docker\.bridge|kernel\.)/;

export async function render({ main, params, signal, title }) {
  const id = params[0];
  title(`Client ${shortID(id)}`);
  const head = h('div'), acts = h('div', { class: 'toolbar' }), actErr = h('div');
  const drv = h('div'), nets = h('div'), attrs = h('div'), evs = h('div'), allocs = h('div'), doc = h('div');
  main.append(h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('ol', {}, h('li', {}, link('/ui/clients', 'Clients')), h('li', {}, h('span', { 'aria-current': 'page' }, shortID(id))))),
    head, acts, actErr, section('Drivers', drv), section('Host networks', nets), section('Allocations', allocs),
    section('Host check (node doctor)', doc), section('Networking facts', attrs), section('Events', evs));
  hostCheck(id, doc, signal);
  const base = `/v1/node/${encodeURIComponent(id)}`;
  const draw = (n) => {
    replace(head, h('h1', {}, n.Name, badge(n.Status)), dl([
      ['Eligibility', badge(n.SchedulingEligibility)], ['Drain', n.Drain ? badge('draining') : 'no'],
      ['Address', n.HTTPAddr], ['Datacenter', n.Datacenter], ['Node pool', n.NodePool], ['Class', n.NodeClass],
      ['Version', n.Version], ['CPU', n.NodeResources ? `${n.NodeResources.Cpu?.CpuShares} MHz, ${n.NodeResources.Cpu?.TotalCpuCores} cores` : ''],
      ['Memory', n.NodeResources ? `${n.NodeResources.Memory?.MemoryMB} MiB` : ''],
      ['Dynamic ports', n.NodeResources ? `${n.NodeResources.MinDynamicPort}–${n.NodeResources.MaxDynamicPort}` : ''],
      ['Full ID', h('span', { class: 'mono' }, n.ID)],
    ]));
    const eligible = n.SchedulingEligibility === 'eligible';
    replace(acts,
      action(eligible ? 'Make ineligible' : 'Make eligible', null,
        () => post(`${base}/eligibility`, { NodeID: n.ID, Eligibility: eligible ? 'ineligible' : 'eligible' }), actErr),
      n.Drain
        ? action('Stop drain', null, () => post(`${base}/drain`, { NodeID: n.ID, DrainSpec: null, MarkEligible: true }), actErr)
        : action('Drain', `Drain ${n.Name}? Its allocations move to other clients.`,
          () => post(`${base}/drain`, { NodeID: n.ID, DrainSpec: { Deadline: 3600e9 } }), actErr, { class: 'danger' }));
    replace(drv, table(null, [
      { label: 'Driver', cell: ([k]) => k },
      { label: 'Detected', cell: ([, d]) => (d.Detected ? 'yes' : 'no') },
      { label: 'Health', cell: ([, d]) => badge(d.Healthy ? 'healthy' : 'unhealthy') },
      { label: 'Description', cell: ([, d]) => d.HealthDescription || '' },
    ], Object.entries(n.Drivers || {}).sort(([a], [b]) => a.localeCompare(b))));
    const hostNets = Object.values(n.HostNetworks || {});
    const nodeNets = n.NodeResources?.NodeNetworks || [];
    replace(nets,
      table('Host networks', [
        { label: 'Name', cell: (x) => x.Name },
        { label: 'CIDR', cell: (x) => x.CIDR || '' },
        { label: 'Interface', cell: (x) => x.Interface || '' },
        { label: 'Reserved ports', cell: (x) => x.ReservedPorts || '' },
      ], hostNets, 'No host_network blocks: tasks use the default network.'),
      table('Interfaces', [
        { label: 'Device', cell: (x) => x.Device || '' },
        { label: 'Mode', cell: (x) => x.Mode || '' },
        { label: 'Addresses', cell: (x) => (x.Addresses || []).map((a) => `${a.Address} (${a.Alias || a.Family})`).join(', ') },
      ], nodeNets, 'None fingerprinted.'));
    const facts = Object.entries(n.Attributes || {}).filter(([k]) => networkAttr.test(k)).sort(([a], [b]) => a.localeCompare(b));
    replace(attrs, h('p', { class: 'muted' }, 'What the client fingerprinted about this host\'s networking. For the full host check (namespaces, bridge, iptables, CNI) run roam node doctor on the node.'),
      table(null, [{ label: 'Attribute', cell: ([k]) => k }, { label: 'Value', cell: ([, v]) => v, class: 'mono' }], facts));
    replace(evs, table(null, [
      { label: 'Time', cell: (e) => fmtTime(e.Timestamp) },
      { label: 'Subsystem', cell: (e) => e.Subsystem || '' },
      { label: 'Message', cell: (e) => e.Message || '' },
    ], [...(n.Events || [])].reverse().slice(0, 20)));
    main.dataset.ready = '1';
  };
  const drawAllocs = (list) => {
    list = (list || []).sort((a, b) => b.CreateIndex - a.CreateIndex);
    replace(allocs, table(null, [
      { label: 'ID', cell: (a) => link(allocHref(a.ID), shortID(a.ID), { class: 'mono' }) },
      { label: 'Job', cell: (a) => link(jobHref(a.JobID, a.Namespace), a.JobID) },
      { label: 'Group', cell: (a) => a.TaskGroup },
      { label: 'Status', cell: (a) => badge(a.ClientStatus) },
    ], list, 'No allocations on this client.'));
  };
  // The node paces the page (heartbeats, drain, eligibility); its
  // allocations are fetched each time it answers.
  follow(signal, [
    { key: 'node', path: base, query: {} },
    { key: 'allocs', path: `${base}/allocations`, query: {} },
  ], (d) => { actErr.replaceChildren(); if (d.node) draw(d.node); drawAllocs(d.allocs); },
  (err) => replace(actErr, errorBox(err, 'Loading the client')));
}

// hostCheck shows `roam node doctor`'s findings when the page is served by
// the node's own agent (GET /v1/client/doctor runs the check there, at most
// every 30 s); for another node it says where to look.
async function hostCheck(id, out, signal) {
  replace(out, h('p', { class: 'muted' }, 'Checking the host…'));
  try {
    const self = await get('/v1/agent/self', { signal });
    if (self?.stats?.client?.node_id !== id) {
      replace(out, h('p', { class: 'muted' }, 'The host check runs on the node itself: open this page through that node\'s agent, or run roam node doctor there.'));
      return;
    }
    const checks = await get('/v1/client/doctor', { signal });
    replace(out, table(null, [
      { label: 'Status', cell: (c) => badge(c.status) },
      { label: 'Check', cell: (c) => c.name },
      { label: 'Detail', cell: (c) => c.detail || '' },
      { label: 'Fix', cell: (c) => c.fix || '' },
    ], checks || []));
  } catch (err) {
    if (!signal.aborted) replace(out, errorBox(err, 'Checking the host'));
  }
}
