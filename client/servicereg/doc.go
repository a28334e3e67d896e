// Package servicereg registers an allocation's service instances in roam's
// catalog from the client, for both providers (nomad and consul: one
// built-in catalog), and hands what it registered to the check runner.
//
// Who uses it:
//
//	group services  client/allocrunner/services_hook.go (Owner{Group})
//	task services   client/taskrunner/hook_services.go  (Owner{Task})
//	check runner    reads Instances (Snapshot, Changed) for the checks to
//	                run and where; reports status changes with
//	                Catalog.UpdateHealth, batched, using Instance.Token
//
// Lifecycle of one owner's instances (Registrar):
//
//	Register    build → upsert → save the IDs in the hook's state → publish
//	            to Instances. Repeating it is harmless: IDs are
//	            deterministic, so a restarted client upserts the same
//	            instances again (never duplicates) and the servers keep the
//	            health already reported.
//	Deregister  unpublish → delete the saved IDs (and any left from an
//	            earlier client process) → clear the state.
//
// IDs: "_nomad-task-<alloc>-<task>-<service>-<port>" for task services and
// "_nomad-task-<alloc>-group-<group>-<service>-<port>" for group services,
// Nomad's scheme, so the same service block always gets the same ID.
// Check IDs are "<registration ID>-check-<index>".
//
// Map:
//
//	catalog.go    Catalog: the servers' catalog as the hooks see it
//	build.go      Build: service blocks → registrations; IDs
//	network.go    Network.Address: address_mode and port → address, port
//	instances.go  Instances: an allocation's registered instances, for checks
//	registrar.go  Registrar: register, re-register, deregister one owner's
package servicereg
