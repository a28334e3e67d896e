// Package dns answers DNS for roam's service catalog, as Consul's DNS
// interface does, on every agent (udp and tcp, miekg/dns).
//
// Names under the agent's domains (consul and roam by default):
//
//	[<tag>.]<service>.service[.<dc>].<domain>   A, AAAA, SRV
//	_<service>._<tag|tcp|udp>[.service][.<dc>].<domain>   SRV (RFC 2782)
//	<node>.node[.<dc>].<domain>                  A, AAAA
//	<hex ip>.addr[.<dc>].<domain>                A, AAAA (SRV targets)
//
// Answers leave out instances that services.Routable refuses (critical
// checks) and are shuffled on every query. A UDP answer that does not fit
// the client's buffer is cut with the truncate bit set, so the client asks
// again over TCP and gets every instance. Other names are forwarded to the
// host's resolvers, a bounded number at a time.
//
// The server reads the catalog through Catalog, which the agent implements
// (from local state on a server, through a cache fed by blocking queries on
// a client), so one query costs no RPC.
//
//	config.go    Config, defaults, validation
//	catalog.go   the Catalog interface the agent implements
//	names.go     parsing a question's name into a typed query
//	answer.go    building answers from the catalog (NXDOMAIN vs NODATA, SOA)
//	forward.go   forwarding other names to the recursors, bounded
//	server.go    listeners (udp, tcp with a connection bound), ServeDNS
package dns
