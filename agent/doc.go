// Package agent runs a roam agent: a server, a client, or both in one process,
// with the HTTP API in front. It is a library first: tests, `roam agent -dev`
// and `roam agent -config` all build an Agent from a Config with New.
//
//	config.go       resolved Config, defaults, the -dev preset, validation
//	config_file.go  HCL agent config files (strict, positioned errors)
//	agent.go        New, Shutdown: wiring server → client → HTTP
//	info.go         what /v1/agent/self, /members and /health report
//	server_rpc.go   RPC to remote servers for client-only agents
//	debug.go        /debug/pprof/ beside the API when enable_debug is set
//	dns.go          the dns block and the DNS server (package dns)
//	dns_catalog.go  the DNS server's catalog: a cache fed by blocking queries
//	command.go      the `roam agent` command: flags, env, signals
//	tls.go          the tls block: RPC mutual TLS, HTTPS, start-up checks
//	tls_command.go  `roam tls ca create`, `roam tls cert create`
package agent
