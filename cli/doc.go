// Package cli is roam's command line: a noun–verb command tree (roam job
// run, roam node drain, ...) built with cobra, in which every command talks
// to an agent only through package api. Output labels and columns follow
// Nomad's CLI, so that Nomad users and their scripts feel at home; the code
// and wording are roam's own.
//
// Conventions:
//
//   - One file per command (job_run.go); commands are built by methods of
//     app, which holds the injected Options and the global flags — no
//     package-level commands or flag variables, so tests run many CLIs in
//     one process.
//   - Flags may be written Nomad-style with one dash (-json, -detach); Run
//     rewrites them before cobra parses (see normalizeFlags).
//   - Read commands take -json and -t <template>.
//   - IDs may be abbreviated to any unique prefix (resolve.go).
//   - Exit codes: 0 ok, 1 error, 2 when a monitored evaluation could not
//     place everything, and for `job plan` 0/1/255 (no change, change,
//     error). Commands return an *ExitError to choose a code.
//
// job run, plan and validate parse job files locally with package jobspec
// (jobfile.go) so that file() and NOMAD_VAR_* work as users expect.
package cli
