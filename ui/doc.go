// Package ui is roam's web UI: static files (HTML, CSS and JavaScript
// modules, no build step) embedded in the binary, and the handler that
// serves them under /ui/.
//
// The UI speaks only the agent's HTTP API, from the browser: it holds no
// state of its own and no Go code of it runs per request beyond serving a
// file. Map of the files:
//
//	embed.go           Handler: files, SPA fallback, Content-Security-Policy
//	firstreads.go      the API reads a page's HTML starts (preloads), per page
//	static/index.html  the one page; loads app.js
//	static/app.js      router (history API), layout, live-query lifecycle
//	static/api.js      fetch wrapper: errors, blocking queries, AbortController
//	static/dom.js      tiny element builder and shared widgets (tables, badges)
//	static/diff.js     job diffs and placement failures, as `job plan` shows them
//	static/deploy.js   a job's latest deployment (Promote, Fail) and its list
//	static/children.js a periodic or parameterized job's schedule or dispatch
//	                   form and its child jobs
//	static/pages/      one module per page (jobs, job, eval, alloc, clients,
//	                   client, servers, logs, files, exec, run)
//	static/highlight.js  a small tokenizer for syntax highlighting
//	static/term.js     a minimal VT terminal for exec
//	static/style.css   layout, light and dark themes (prefers-color-scheme)
//
// The tests drive Debian's Chromium with chromedp against a live agent;
// testdata/axe holds axe-core for the accessibility test only. docs/ui.md
// describes the pages, the live-update rule and how they are tested.
package ui
