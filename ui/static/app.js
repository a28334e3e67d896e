// app.js: the router. Each route names a page module; navigating aborts the
// current page's AbortController, which ends every request and stream it
// started (blocking queries, logs, the exec websocket), then renders the
// next page into <main>.
import { h, errorBox } from './dom.js';

// routes, matched in order: the first pattern that matches the path wins.
// Allocation sub-pages come before the allocation page, whose pattern
// would otherwise not match them anyway (anchored), but the order keeps
// reading top-down from specific to general.
const routes = [
  { re: /^\/ui\/?$/, redirect: '/ui/jobs' },
  { re: /^\/ui\/jobs$/, page: 'jobs', nav: 'jobs' },
  { re: /^\/ui\/jobs\/([^/]+)$/, page: 'job', nav: 'jobs' },
  { re: /^\/ui\/allocations\/([^/]+)\/logs$/, page: 'logs', nav: 'jobs' },
  { re: /^\/ui\/allocations\/([^/]+)\/fs(\/.*)?$/, page: 'files', nav: 'jobs' },
  { re: /^\/ui\/allocations\/([^/]+)\/exec$/, page: 'exec', nav: 'jobs' },
  { re: /^\/ui\/allocations\/([^/]+)$/, page: 'alloc', nav: 'jobs' },
  { re: /^\/ui\/evaluations\/([^/]+)$/, page: 'eval', nav: 'jobs' },
  { re: /^\/ui\/clients$/, page: 'clients', nav: 'clients' },
  { re: /^\/ui\/clients\/([^/]+)$/, page: 'client', nav: 'clients' },
  { re: /^\/ui\/servers$/, page: 'servers', nav: 'servers' },
  { re: /^\/ui\/run$/, page: 'run', nav: 'run' },
];

let current = null; // the AbortController of the page on screen

async function route() {
  current?.abort(new DOMException('navigated away', 'AbortError'));
  const ctl = new AbortController();
  current = ctl;
  const main = document.getElementById('main');
  const path = location.pathname;
  // Nomad's CLI prints job links as /ui/jobs/<id>@<namespace>: the same
  // page here is /ui/jobs/<id>?namespace=<namespace>.
  const nomadJob = path.match(/^\/ui\/jobs\/([^/]+)@([^/@]+)$/);
  if (nomadJob) {
    const ns = decodeURIComponent(nomadJob[2]);
    const q = ns === 'default' ? '' : `?namespace=${encodeURIComponent(ns)}`;
    history.replaceState(null, '', `/ui/jobs/${nomadJob[1]}${q}`);
    return route();
  }
  const r = routes.find((x) => x.re.test(path));
  if (r?.redirect) {
    history.replaceState(null, '', r.redirect);
    return route();
  }
  document.querySelectorAll('[data-nav]').forEach((a) => {
    if (r && a.dataset.nav === r.nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  });
  main.replaceChildren();
  main.removeAttribute('data-ready');
  if (!r) {
    document.title = 'Not found · roam';
    main.append(h('h1', {}, 'Not found'), h('p', {}, `No page at ${path}. `, h('a', { href: '/ui/jobs' }, 'Go to the jobs.')));
    return;
  }
  const params = path.match(r.re).slice(1).map((p) => (p === undefined ? '' : decodeURIComponent(p)));
  try {
    const mod = await loadPage(r.page);
    if (ctl.signal.aborted) return;
    await mod.render({
      main, params, query: new URLSearchParams(location.search), signal: ctl.signal,
      title: (t) => { document.title = `${t} · roam`; },
    });
  } catch (err) {
    if (ctl.signal.aborted) return;
    main.append(errorBox(err, 'Page failed'));
  }
}

// loadPage imports a page's module. A failed fetch (the network changed
// under the browser, the agent restarted) is tried once more under another
// URL: browsers remember a failed import of a URL for the document's life.
async function loadPage(name) {
  try {
    return await import(`./pages/${name}.js`);
  } catch (err) {
    return import(`./pages/${name}.js?retry=${Date.now()}`);
  }
}

// navigate shows path without reloading the page.
export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  route().then(() => document.getElementById('main')?.focus({ preventScroll: false }));
}

// Clicks on links inside the UI are routed here; modified clicks (new tab),
// downloads and links out of /ui/ go to the browser.
document.addEventListener('click', (ev) => {
  if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  const a = ev.target.closest?.('a[href]');
  if (!a || a.target || a.hasAttribute('download')) return;
  const u = new URL(a.href, location.href);
  if (u.origin !== location.origin || !u.pathname.startsWith('/ui/')) return;
  ev.preventDefault();
  if (u.pathname + u.search === location.pathname + location.search) return;
  navigate(u.pathname + u.search + u.hash);
});

window.addEventListener('popstate', () => route());
// Leaving the document (a reload, another site, the back-forward cache)
// ends the page's requests too: a frozen page's blocking queries would
// otherwise hold connections the next page needs.
window.addEventListener('pagehide', () => current?.abort(new DOMException('page hidden', 'AbortError')));
window.addEventListener('pageshow', (ev) => { if (ev.persisted) route(); });
route();
