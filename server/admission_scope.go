package server

import (
	"fmt"
	"slices"
	"strings"

	"github.com/roam-sh/roam/structs"
)

// AdmissionScope is what job validators know of the cluster beyond the job.
type AdmissionScope struct {
	// Region is the region this server serves; roam does not federate, so
	// it is the only region a job may name.
	Region string
	// Namespaces lists the namespaces that exist, sorted.
	Namespaces []string
	// NodePools lists the node pools that exist, sorted; nil skips the
	// check (tests that build a scope by hand).
	NodePools []string
}

// KnownNamespace reports whether ns exists.
func (s AdmissionScope) KnownNamespace(ns string) bool { return slices.Contains(s.Namespaces, ns) }

// admissionScope is this server's scope for one admission: the namespaces
// and node pools its replicated state holds.
func (s *Server) admissionScope() AdmissionScope {
	scope := AdmissionScope{Region: s.cfg.Region, Namespaces: []string{structs.DefaultNamespace}}
	if names, err := s.state.NamespaceNames(); err == nil {
		scope.Namespaces = names
	}
	if pools, err := s.state.NodePools(nil, ""); err == nil {
		scope.NodePools = make([]string, len(pools))
		for i, p := range pools {
			scope.NodePools[i] = p.Name
		}
	}
	return scope
}

// jobScopeValidator refuses a job for a namespace or node pool that does
// not exist or a region other than the server's: without it such a job
// would be stored under a name no list shows (namespaces), wait for nodes
// that can never come (pools) or run in a region it did not ask for
// (regions).
type jobScopeValidator struct{}

func (jobScopeValidator) Name() string { return "scope" }

func (jobScopeValidator) Validate(job *structs.Job, scope AdmissionScope) ([]string, error) {
	var problems []string
	if job.Namespace != "" && !scope.KnownNamespace(job.Namespace) {
		problems = append(problems, fmt.Sprintf("namespace %q does not exist; known namespaces: %s",
			job.Namespace, strings.Join(scope.Namespaces, ", ")))
	}
	if scope.NodePools != nil && job.NodePool != "" && !slices.Contains(scope.NodePools, job.NodePool) {
		problems = append(problems, fmt.Sprintf("node pool %q does not exist; known node pools: %s (create it with roam node pool apply, or register a node in it)",
			job.NodePool, strings.Join(scope.NodePools, ", ")))
	}
	if job.Region != "" && scope.Region != "" && job.Region != scope.Region {
		problems = append(problems, fmt.Sprintf("region %q does not exist; this cluster serves region %q",
			job.Region, scope.Region))
	}
	if len(problems) > 0 {
		return nil, &structs.ValidationError{Problems: problems}
	}
	return nil, nil
}
