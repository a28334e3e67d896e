// Package httpapi serves roam's HTTP API under /v1 with the paths, query
// parameters, headers and JSON shapes of Nomad's API, so that Nomad's own
// clients (the nomad CLI, github.com/hashicorp/nomad/api, Prometheus,
// Traefik) work against a roam agent unchanged.
//
// Handlers are thin: they parse the request into a structs request type, call
// a server RPC endpoint in-process (Config.RPC) and encode the reply. The
// servers own validation, filtering (go-bexpr) and blocking queries; this
// package owns the HTTP conventions:
//
//   - routing with method+wildcard ServeMux patterns (routes.go), so a wrong
//     method is a 405 and an unknown path a 404;
//   - query options: index/wait (blocking queries), prefix, filter,
//     namespace, region, stale, per_page/next_token, pretty (request.go);
//   - the X-Nomad-Index, X-Nomad-KnownLeader and X-Nomad-LastContact headers
//     on every response, which Nomad's Go client parses (respond.go);
//   - errors as plain-text bodies, with one function mapping errors to status
//     codes (errors.go);
//   - request bodies capped at Config.MaxBodyBytes (413), panics recovered as
//     500, requests logged at debug level (middleware.go);
//   - web pages other than the agent's own and Host names that are not the
//     agent's refused with 403 on every route, websockets included
//     (browsers.go: the API has no authentication, so a page must not
//     drive it, nor a rebound DNS name reach it).
//
// JSON lists are never null: an empty list is [].
//
// Map of the package:
//
//	server.go      Config, the interfaces the agent provides, New
//	routes.go      the route table
//	middleware.go  the middleware chain, in order: request log, recover,
//	               browser rules, body limit, default headers
//	browsers.go    the Host, Origin and Sec-Fetch-Site rules; CORS for
//	               origins the operator allowed
//	request.go     query and body parsing
//	respond.go     JSON encoding and metadata headers
//	errors.go      error → status code mapping
//	jobs.go        /v1/jobs, /v1/jobs/parse, /v1/validate/job
//	job.go         /v1/job/:id and its sub-resources
//	allocs.go      /v1/allocations, /v1/allocation/:id
//	evals.go       /v1/evaluations, /v1/evaluation/:id
//	nodes.go       /v1/nodes, /v1/node/:id
//	agent.go       /v1/agent, /v1/status, /v1/operator
//	keyring.go     /.well-known/jwks.json, /v1/operator/keyring/
//	client.go      /v1/client/: the local client's endpoints, or forwarding to
//	               the node running the allocation (reverse proxy)
package httpapi
