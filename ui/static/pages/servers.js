// Servers: the members of the region and which one leads. Membership has
// no blocking query, so the page asks again every few seconds, one request
// at a time.
import { get, poll } from '../api.js';
import { h, replace, table, badge, errorBox } from '../dom.js';

export async function render({ main, signal, title }) {
  title('Servers');
  const out = h('div'), errs = h('div');
  main.append(h('h1', {}, 'Servers'), errs, out);
  poll(5000, signal, async () => {
    try {
      const [members, leader] = await Promise.all([get('/v1/agent/members', { signal }), get('/v1/status/leader', { signal })]);
      const list = (members.Members || []).sort((a, b) => a.Name.localeCompare(b.Name));
      const isLeader = (m) => leader && (leader === `${m.Addr}:${m.Tags?.port}` || leader.endsWith(`:${m.Tags?.port}`) && list.length === 1);
      errs.replaceChildren();
      replace(out,
        h('p', {}, `Region ${members.ServerRegion || ''}, datacenter ${members.ServerDC || ''}. Leader: `, h('span', { class: 'mono', id: 'leader' }, leader || 'none')),
        table(null, [
          { label: 'Name', cell: (m) => m.Name },
          { label: 'Address', cell: (m) => `${m.Addr}:${m.Port}`, class: 'mono' },
          { label: 'Status', cell: (m) => badge(m.Status) },
          { label: 'Leader', cell: (m) => (isLeader(m) ? badge('leader') : 'no') },
          { label: 'Raft port', cell: (m) => m.Tags?.port || '', class: 'hide-narrow' },
          { label: 'Datacenter', cell: (m) => m.Tags?.dc || '', class: 'hide-narrow' },
          { label: 'Version', cell: (m) => m.Tags?.build || '', class: 'hide-narrow' },
        ], list, 'No members.'));
      main.dataset.ready = '1';
    } catch (err) {
      if (!signal.aborted) replace(errs, errorBox(err, 'Loading servers'));
    }
  });
}
