package server

import (
	"fmt"
	"time"

	"github.com/roam-sh/roam/structs"
)

// systemEndpoint serves System.*: maintenance operators ask for (`nomad
// system gc`, `nomad system reconcile summaries`). Both run on the leader.
type systemEndpoint struct{ srv *Server }

// GarbageCollect collects now everything the periodic collection would
// collect once its thresholds pass: stopped and dead jobs, terminal
// evaluations and allocations, down nodes with nothing live, terminal
// deployments no live allocation belongs to.
func (s *systemEndpoint) GarbageCollect(args *structs.SystemRequest, reply *structs.GenericResponse) error {
	if done, err := s.srv.forward(structs.MethodSystemGarbageCollect, false, args, reply); done {
		return err
	}
	if err := s.srv.collectGarbageOlderThan(time.Now(), gcAges{}); err != nil {
		return fmt.Errorf("garbage collect: %w", err)
	}
	reply.Index = s.srv.raft.AppliedIndex()
	return nil
}

// ReconcileJobSummaries answers as Nomad's does. roam has nothing to
// reconcile: a job's summary is written in the same transaction as every
// allocation change that moves it (state/allocs.go), so it cannot drift.
func (s *systemEndpoint) ReconcileJobSummaries(args *structs.SystemRequest, reply *structs.GenericResponse) error {
	if done, err := s.srv.forward(structs.MethodSystemReconcileJobSummaries, false, args, reply); done {
		return err
	}
	reply.Index = s.srv.raft.AppliedIndex()
	return nil
}
