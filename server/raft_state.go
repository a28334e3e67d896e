package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	"github.com/roam-sh/roam/internal/statefile"
)

// The server's files under <data_dir>/server, checked before Raft sees them:
//
//	server-id               this server's Raft ID, written once raft.db exists
//	raft/raft.db            Raft's log and stable store (bbolt)
//	raft/snapshots/<id>/    meta.json and state.bin of each retained snapshot
//
// Raft panics on a log entry it cannot read (on its own goroutines), falls
// back silently past a snapshot whose meta.json it cannot parse, and
// bootstraps a new cluster when raft.db is missing or empty: each of those
// is refused here instead, with the file and the remedy.

const snapshotsDir = "snapshots"

// raftRemedy says what to do about a refused file of the server's state.
func raftRemedy(dataDir string) string {
	return fmt.Sprintf(`The server's state in %s cannot be trusted, so the agent will not start on it.
To recover: stop every agent using this data_dir, copy %s somewhere safe, then either
  - restore the data_dir from a backup copy, or
  - start once with "roam agent -reset-state": the corrupt file is moved aside (renamed *.corrupt-<time>),
    the server restarts from its newest readable snapshot, or as a new empty cluster if it has none
    (jobs and allocations recorded only in the lost file are forgotten).`, dataDir, dataDir)
}

// appliedRemedy says what to do about a committed entry the FSM could not
// apply: raft.db reads fine, so -reset-state alone would not move it aside.
func appliedRemedy(dataDir string) string {
	db := filepath.Join(raftDir(dataDir), raftDBFile)
	return fmt.Sprintf(`The server's log in %s holds an entry this server cannot apply, so it stops rather than run on
with state that no longer matches the log. To recover: stop the agent, copy %s somewhere safe, then either
  - restore the data_dir from a backup copy, or
  - move the log aside by hand (mv %s %s.corrupt) and start once with "roam agent -reset-state":
    the server restarts from its newest snapshot, or as a new empty cluster if it has none.`, db, dataDir, db, db)
}

// priorCluster says why the data dir shows this server already belonged to
// a cluster, or "" when it does not: then a missing or stateless raft.db is
// a first start, not a lost log.
func priorCluster(dataDir string, bootstrapExpect int) string {
	dir := raftDir(dataDir)
	ents, _ := os.ReadDir(filepath.Join(dir, snapshotsDir))
	for _, e := range ents {
		if isSnapshotDir(e) {
			return filepath.Join(dir, snapshotsDir) + " holds snapshots"
		}
	}
	// A server waiting for its peers to bootstrap has an ID and no state
	// yet; a lone server bootstraps as soon as raft.db exists.
	idPath := filepath.Join(dataDir, "server", serverIDFile)
	if _, err := os.Stat(idPath); err == nil && bootstrapExpect <= 1 {
		return idPath + " exists"
	}
	return ""
}

// checkRaftFiles checks raft.db and the snapshots before anything opens
// them. With reset, what is corrupt is moved aside instead of refused.
func (s *Server) checkRaftFiles() error {
	dir := raftDir(s.cfg.DataDir)
	dbPath := filepath.Join(dir, raftDBFile)
	if err := s.checkOrReset(dbPath, statefile.CheckBolt(dbPath)); err != nil {
		return err
	}
	if err := s.checkSnapshots(dir); err != nil {
		return err
	}
	if _, err := os.Stat(dbPath); errors.Is(err, os.ErrNotExist) {
		if why := priorCluster(s.cfg.DataDir, s.cfg.BootstrapExpect); why != "" {
			return s.checkOrReset(dbPath, &statefile.CorruptError{Path: dbPath,
				Reason: "missing, but " + why + ": starting would found a new cluster over the old one"})
		}
	}
	return nil
}

// checkOrReset returns err with the remedy, or with ResetCorruptState moves
// a corrupt file aside and returns nil. Errors other than corruption (a
// file held by another agent) are returned either way.
func (s *Server) checkOrReset(path string, err error) error {
	if err == nil {
		return nil
	}
	if !errors.Is(err, statefile.ErrCorrupt) {
		return err
	}
	if !s.cfg.ResetCorruptState {
		return statefile.WithRemedy(err, raftRemedy(s.cfg.DataDir))
	}
	s.logger.Warn("resetting corrupt server state", "error", err)
	if _, statErr := os.Lstat(path); statErr != nil {
		return nil // nothing to move: a missing file was the problem
	}
	dst, mvErr := statefile.MoveAside(path, time.Now())
	if mvErr != nil {
		return mvErr
	}
	s.logger.Warn("moved corrupt server state aside", "from", path, "to", dst)
	return nil
}

// snapshotMeta is the part of raft's meta.json the check needs.
type snapshotMeta struct {
	ID    string
	Index uint64
	Size  int64
	CRC   []byte
}

// checkSnapshots checks every retained snapshot's meta.json and state.bin
// (size and CRC) as raft wrote them. A corrupt one moved aside by reset goes
// beside the snapshots directory, where raft does not look.
func (s *Server) checkSnapshots(dir string) error {
	ents, err := os.ReadDir(filepath.Join(dir, snapshotsDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read snapshots: %w", err)
	}
	for _, e := range ents {
		if !isSnapshotDir(e) {
			continue
		}
		snapDir := filepath.Join(dir, snapshotsDir, e.Name())
		cerr := checkSnapshot(snapDir)
		if cerr == nil {
			continue
		}
		if !s.cfg.ResetCorruptState {
			return statefile.WithRemedy(cerr, raftRemedy(s.cfg.DataDir))
		}
		dst := filepath.Join(dir, "snapshot-"+e.Name()+".corrupt-"+time.Now().UTC().Format("20060102T150405Z"))
		if err := os.Rename(snapDir, dst); err != nil {
			return fmt.Errorf("move aside %s: %w", snapDir, err)
		}
		s.logger.Warn("moved corrupt snapshot aside", "error", cerr, "to", dst)
	}
	return nil
}

// isSnapshotDir says whether raft would read e as a snapshot: it skips
// files and the unfinished snapshots it writes under a .tmp name.
func isSnapshotDir(e os.DirEntry) bool {
	return e.IsDir() && !strings.HasSuffix(e.Name(), ".tmp")
}

// checkSnapshot checks one snapshot directory.
func checkSnapshot(dir string) error {
	metaPath := filepath.Join(dir, "meta.json")
	raw, err := os.ReadFile(metaPath)
	if err != nil {
		return &statefile.CorruptError{Path: metaPath, Reason: "unreadable", Err: err}
	}
	var m snapshotMeta
	if err := json.Unmarshal(raw, &m); err != nil {
		return &statefile.CorruptError{Path: metaPath, Reason: "not valid snapshot metadata", Err: err}
	}
	if m.Index == 0 || m.Size < 0 || len(m.CRC) != 8 {
		return &statefile.CorruptError{Path: metaPath, Reason: "incomplete snapshot metadata (index, size or crc missing)"}
	}
	statePath := filepath.Join(dir, "state.bin")
	f, err := os.Open(statePath)
	if err != nil {
		return &statefile.CorruptError{Path: statePath, Reason: "unreadable", Err: err}
	}
	defer f.Close()
	h := crc64.New(crc64.MakeTable(crc64.ECMA))
	n, err := io.Copy(h, f)
	switch {
	case err != nil:
		return &statefile.CorruptError{Path: statePath, Reason: "unreadable", Err: err}
	case n != m.Size:
		return &statefile.CorruptError{Path: statePath, Reason: fmt.Sprintf("truncated or extended: %d bytes, meta.json says %d", n, m.Size)}
	case string(h.Sum(nil)) != string(m.CRC):
		return &statefile.CorruptError{Path: statePath, Reason: "checksum does not match meta.json"}
	}
	return nil
}

// checkRaftLog reads the stable store's terms and every log entry once, on
// this goroutine: raft reads them later on its own goroutines and panics on
// one it cannot decode or find. A log that does not continue from the
// newest snapshot, or no state at all where the data dir shows a cluster
// existed, is refused too.
func (s *Server) checkRaftLog(store *raftboltdb.BoltStore, snaps raft.SnapshotStore) error {
	dbPath := filepath.Join(raftDir(s.cfg.DataDir), raftDBFile)
	corrupt := func(reason string, err error) error {
		return &statefile.CorruptError{Path: dbPath, Reason: reason, Err: err}
	}
	var first, last, term uint64
	err := statefile.Guard(func() error {
		for _, k := range []string{"CurrentTerm", "LastVoteTerm"} {
			v, err := store.Get([]byte(k))
			if err == nil && len(v) != 8 {
				return fmt.Errorf("stable store key %s holds %d bytes, not 8", k, len(v))
			}
		}
		var err error
		if term, err = store.GetUint64([]byte("CurrentTerm")); err != nil && err.Error() != "not found" {
			return err
		}
		if first, err = store.FirstIndex(); err != nil {
			return err
		}
		if last, err = store.LastIndex(); err != nil {
			return err
		}
		return readLogRange(store, first, last)
	})
	if err != nil {
		return corrupt("unreadable raft log", err)
	}
	metas, err := snaps.List()
	if err != nil {
		return fmt.Errorf("list snapshots: %w", err)
	}
	if len(metas) > 0 && last > 0 && first > metas[0].Index+1 {
		return corrupt(fmt.Sprintf("the log starts at index %d, past the newest snapshot's %d: entries between are lost", first, metas[0].Index), nil)
	}
	// Reset accepts a fresh start: that is what the operator asked for.
	if last == 0 && term == 0 && len(metas) == 0 && !s.cfg.ResetCorruptState {
		if why := priorCluster(s.cfg.DataDir, s.cfg.BootstrapExpect); why != "" {
			return corrupt("holds no raft state, but "+why+": starting would found a new cluster over the old one", nil)
		}
	}
	return nil
}

// readLogRange reads every entry of [first, last]; a missing one is a hole
// raft would panic on.
func readLogRange(store *raftboltdb.BoltStore, first, last uint64) error {
	if last == 0 {
		return nil
	}
	var l raft.Log
	for i := first; i <= last; i++ {
		if err := store.GetLog(i, &l); err != nil {
			return fmt.Errorf("log entry %d: %w", i, err)
		}
		if l.Index != i {
			return fmt.Errorf("log entry %d claims index %d", i, l.Index)
		}
	}
	return nil
}
