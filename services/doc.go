// Package services holds the rules every reader of roam's service catalog
// shares, so that the HTTP API, DNS, templates and (later) the mesh answer
// alike. The catalog itself is replicated by the servers (state's services
// table, structs.ServiceRegistration); this package knows neither side.
//
//	routable.go  Routable, Routables: which instances receive traffic
//	             (critical ones do not; warning ones do, as Consul's DNS)
//	choose.go    Choose, ParseChoose: ?choose=N|key, a rendezvous-hash
//	             subset that stays stable for one key as instances come
//	             and go
//
// Health: an instance's Health is the worst of its checks' statuses
// (structs.AggregateHealth); an instance without checks, or registered
// without any health (a Nomad client), is passing.
package services
