package state

import (
	"fmt"
	"maps"

	"github.com/hashicorp/go-memdb"

	"github.com/roam-sh/roam/structs"
)

// Table names.
const (
	tableIndex       = "index"
	tableJobs        = "jobs"
	tableJobVersions = "job_versions"
	tableJobSummary  = "job_summary"
	tableSubmissions = "job_submissions"
	tableEvals       = "evals"
	tableAllocs      = "allocs"
	tableNodes       = "nodes"
	tableServices    = "service_registrations"
	tableRootKeys    = "root_keys"
	tableNamespaces  = "namespaces"
	tableNodePools   = "node_pools"
	tableVariables   = "variables"
	tableDeployments = "deployment"
	tableCARoots     = "connect_ca_roots"
	tableIntentions  = "connect_intentions"
	tableNodeAllocs  = "node_allocs" // derived, see nodeAllocsEntry
	tableNodeUsage   = "node_usage"  // derived, see applyUsage
)

// IndexEntry records the last Raft index that changed a table.
type IndexEntry struct {
	Key   string
	Value uint64
}

func schema() *memdb.DBSchema {
	s := &memdb.DBSchema{Tables: map[string]*memdb.TableSchema{
		tableIndex: {Name: tableIndex, Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Key"}},
		}},
		tableJobs: {Name: tableJobs, Indexes: map[string]*memdb.IndexSchema{
			"id": nsID("ID"),
		}},
		tableJobVersions: {Name: tableJobVersions, Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
				&memdb.StringFieldIndex{Field: "Namespace"},
				&memdb.StringFieldIndex{Field: "ID"},
				&memdb.UintFieldIndex{Field: "Version"},
			}}},
		}},
		tableJobSummary: {Name: tableJobSummary, Indexes: map[string]*memdb.IndexSchema{
			"id": nsID("JobID"),
		}},
		tableSubmissions: {Name: tableSubmissions, Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
				&memdb.StringFieldIndex{Field: "Namespace"},
				&memdb.StringFieldIndex{Field: "JobID"},
				&memdb.UintFieldIndex{Field: "Version"},
			}}},
		}},
		tableEvals: {Name: tableEvals, Indexes: map[string]*memdb.IndexSchema{
			"id":  {Name: "id", Unique: true, Indexer: &memdb.UUIDFieldIndex{Field: "ID"}},
			"job": nsField("job", "JobID"),
		}},
		tableAllocs: {Name: tableAllocs, Indexes: map[string]*memdb.IndexSchema{
			"id":  {Name: "id", Unique: true, Indexer: &memdb.UUIDFieldIndex{Field: "ID"}},
			"job": nsField("job", "JobID"),
			"node": {Name: "node", Indexer: &memdb.CompoundIndex{AllowMissing: true, Indexes: []memdb.Indexer{
				&memdb.StringFieldIndex{Field: "NodeID"},
				&memdb.ConditionalIndex{Conditional: allocTerminal},
			}}},
			"eval": {Name: "eval", AllowMissing: true, Indexer: &memdb.StringFieldIndex{Field: "EvalID"}},
		}},
		tableNodes: {Name: tableNodes, Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.UUIDFieldIndex{Field: "ID"}},
		}},
		tableNodeAllocs: {Name: tableNodeAllocs, Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "NodeID"}},
		}},
		tableNodeUsage: {Name: tableNodeUsage, Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "NodeID"}},
		}},
		tableRootKeys: {Name: tableRootKeys, Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "KeyID"}},
		}},
		tableNamespaces: {Name: tableNamespaces, Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Name"}},
		}},
		tableNodePools: {Name: tableNodePools, Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Name"}},
		}},
		tableVariables: {Name: tableVariables, Indexes: map[string]*memdb.IndexSchema{
			"id": nsID("Path"),
		}},
		tableDeployments: {Name: tableDeployments, Indexes: map[string]*memdb.IndexSchema{
			"id":  {Name: "id", Unique: true, Indexer: &memdb.UUIDFieldIndex{Field: "ID"}},
			"job": nsField("job", "JobID"),
		}},
		tableCARoots: {Name: tableCARoots, Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID"}},
		}},
		tableIntentions: {Name: tableIntentions, Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID"}},
			"pair": {Name: "pair", Unique: true, Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
				&memdb.StringFieldIndex{Field: "SourceNS"}, &memdb.StringFieldIndex{Field: "SourceName"},
				&memdb.StringFieldIndex{Field: "DestinationNS"}, &memdb.StringFieldIndex{Field: "DestinationName"},
			}}},
		}},
		tablePeriodicLaunch: periodicLaunchSchema(),
		tableAutopilot:      autopilotSchema(),
		tableServices: {Name: tableServices, Indexes: map[string]*memdb.IndexSchema{
			"id":           {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID"}},
			"service_name": nsField("service_name", "ServiceName"),
			"alloc_id":     {Name: "alloc_id", Indexer: &memdb.StringFieldIndex{Field: "AllocID"}},
			"node_id":      {Name: "node_id", AllowMissing: true, Indexer: &memdb.StringFieldIndex{Field: "NodeID"}},
			"job":          nsField("job", "JobID"),
		}},
	}}
	maps.Copy(s.Tables[tableJobs].Indexes, jobIndexesForChildren())
	return s
}

// nsID is the unique (Namespace, field) primary index.
func nsID(field string) *memdb.IndexSchema {
	s := nsField("id", field)
	s.Unique = true
	return s
}

func nsField(name, field string) *memdb.IndexSchema {
	return &memdb.IndexSchema{Name: name, Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
		&memdb.StringFieldIndex{Field: "Namespace"},
		&memdb.StringFieldIndex{Field: field},
	}}}
}

func allocTerminal(obj any) (bool, error) {
	a, ok := obj.(*structs.Allocation)
	if !ok {
		return false, fmt.Errorf("allocTerminal: unexpected %T", obj)
	}
	return a.TerminalStatus(), nil
}
