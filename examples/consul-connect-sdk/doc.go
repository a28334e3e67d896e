// Package consulsdk checks that applications built on Consul's Connect Go
// SDK (github.com/hashicorp/consul/connect) run against a roam agent
// unchanged: it is its own module, so Consul's many dependencies stay out
// of roam's. Run it as root (the agent makes a bridge for the job):
//
//	cd examples/consul-connect-sdk && go test -count=1 -v .
//
// The test builds roam, starts `roam agent -dev` with a bridge of its own,
// runs a job declaring two connect-native services (api and web), and uses
// each allocation's workload identity as the SDK's token (what roam sets as
// CONSUL_HTTP_TOKEN in a native task): an SDK server for api, an SDK client
// for web, requests through mTLS with authorisation by intentions, and a
// root rotation under load with no failed request.
package consulsdk
