package server

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hashicorp/raft"

	"github.com/roam-sh/roam/state"
	"github.com/roam-sh/roam/structs"
)

// saveSnapshot writes a consistent archive of the state: called on the
// leader after verifying it leads, so the state holds every write
// acknowledged before the call.
func (s *Server) saveSnapshot() ([]byte, error) {
	if err := s.verifyLeader(); err != nil {
		return nil, err
	}
	if err := s.waitApply(s.raft.Barrier(barrierTimeout)); err != nil {
		return nil, fmt.Errorf("snapshot barrier: %w", raftErr(err))
	}
	snap := s.state.Snapshot()
	var st bytes.Buffer
	if err := snap.Persist(&st); err != nil {
		return nil, fmt.Errorf("persist state: %w", err)
	}
	index, _ := s.state.LatestIndex()
	term, _ := strconv.ParseUint(s.raft.Stats()["term"], 10, 64)
	meta := structs.SnapshotMeta{
		ID: fmt.Sprintf("%d-%d-%d", term, index, time.Now().UnixMilli()), Index: index, Term: term,
		Size: int64(st.Len()), Version: int(raft.SnapshotVersionMax), ServerVersion: s.cfg.Version, CreateTime: time.Now().UTC(),
	}
	return structs.WriteSnapshotArchive(meta, st.Bytes())
}

// SnapshotContents counts what a snapshot's state holds, for inspect.
func SnapshotContents(st []byte) (map[string]int, error) {
	store, err := state.NewStateStore()
	if err != nil {
		return nil, err
	}
	if err := store.Restore(bytes.NewReader(st)); err != nil {
		return nil, fmt.Errorf("decode snapshot state: %w", err)
	}
	out := map[string]int{}
	count := func(name string, n int, err error) error {
		out[name] = n
		return err
	}
	jobs, err := store.Jobs(nil, structs.AllNamespaces, "")
	errs := []error{count("Jobs", len(jobs), err)}
	allocs, err := store.Allocs(nil, structs.AllNamespaces, "")
	errs = append(errs, count("Allocations", len(allocs), err))
	nodes, err := store.Nodes(nil, "")
	errs = append(errs, count("Nodes", len(nodes), err))
	evals, err := store.Evals(nil, structs.AllNamespaces, "")
	errs = append(errs, count("Evaluations", len(evals), err))
	vars, err := store.Variables(nil, structs.AllNamespaces, "")
	errs = append(errs, count("Variables", len(vars), err))
	keys, err := store.RootKeys(nil)
	errs = append(errs, count("Root keys", len(keys), err))
	return out, errors.Join(errs...)
}

// restoreSnapshot replaces the cluster's state with an archive's, on the
// leader: Raft installs it on every server, then the leader's duties start
// again from the restored state (pending evaluations, heartbeat timers,
// the signing key).
func (s *Server) restoreSnapshot(archive []byte) error {
	meta, st, err := structs.ReadSnapshotArchive(bytes.NewReader(archive))
	if err != nil {
		return badRequest("%v", err)
	}
	if _, err := SnapshotContents(st); err != nil {
		return badRequest("%v", err)
	}
	rmeta := &raft.SnapshotMeta{Version: raft.SnapshotVersionMax, Index: meta.Index, Term: meta.Term, Size: int64(len(st))}
	if err := s.raft.Restore(rmeta, bytes.NewReader(st), barrierTimeout); err != nil {
		return fmt.Errorf("restore snapshot %s: %w", meta.ID, raftErr(err))
	}
	s.logger.Warn("state restored from snapshot", "snapshot", meta.ID, "index", meta.Index)
	s.stopLeadership()
	s.startLeadership()
	return nil
}
