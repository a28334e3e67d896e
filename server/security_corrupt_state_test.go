package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	bolt "go.etcd.io/bbolt"

	"github.com/roam-sh/roam/internal/statefile"
	"github.com/roam-sh/roam/internal/wire"
	"github.com/roam-sh/roam/scheduler/schedtest"
	"github.com/roam-sh/roam/state"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// seedServerDir runs a server with a data dir, registers a job (and takes
// a snapshot when snapshot is set), shuts it down and returns its config.
func seedServerDir(t testing.TB, logger *slog.Logger, snapshot bool) Config {
	t.Helper()
	cfg := Config{DataDir: t.TempDir(), NodeName: "seed", RPCAddr: "127.0.0.1:0", NumSchedulers: 1, Logger: logger, BootstrapExpect: 1}
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if err := s.WaitForLeader(ctx); err != nil {
		t.Fatal(err)
	}
	var reply structs.JobRegisterResponse
	if err := s.RPC(structs.MethodJobRegister, &structs.JobRegisterRequest{Job: testJob("web", 1)}, &reply); err != nil {
		t.Fatal(err)
	}
	if snapshot {
		if err := s.raft.Snapshot().Error(); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Shutdown(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// wantRefused checks that NewServer refuses cfg's data dir with an error
// naming file and the remedy.
func wantRefused(t *testing.T, cfg Config, file string) {
	t.Helper()
	s, err := NewServer(cfg)
	if err == nil {
		s.Shutdown()
		t.Fatalf("server started on corrupt state; want it refused naming %s", file)
	}
	if !errors.Is(err, statefile.ErrCorrupt) || !strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), "-reset-state") {
		t.Fatalf("error does not say corrupt state, %s and the remedy:\n%v", file, err)
	}
}

// wantResetStarts checks that with ResetCorruptState the server starts on
// the same data dir, and that nothing was deleted: a refused file holding
// anything (wantMoved) is kept under a *.corrupt-* name.
func wantResetStarts(t *testing.T, cfg Config, wantMoved bool) *Server {
	t.Helper()
	cfg.ResetCorruptState = true
	s := startServer(t, cfg)
	moved, _ := filepath.Glob(filepath.Join(raftDir(cfg.DataDir), "*.corrupt-*"))
	if wantMoved && len(moved) == 0 {
		t.Fatalf("reset kept no copy of the corrupt state in %s", raftDir(cfg.DataDir))
	}
	return s
}

// TestSecurityCorruptStateSnapshot: a damaged snapshot is refused, naming
// the file; raft on its own would skip a snapshot whose meta.json it cannot
// parse, silently. Fails without checkSnapshots: the server starts.
func TestSecurityCorruptStateSnapshot(t *testing.T) {
	seed := seedServerDir(t, testutil.Logger(t), true)
	snaps, _ := filepath.Glob(filepath.Join(raftDir(seed.DataDir), snapshotsDir, "*"))
	if len(snaps) != 1 {
		t.Fatalf("snapshots: %v", snaps)
	}
	cases := []struct {
		name, file string
		damage     func(path string) error
	}{
		{"state.bin truncated", "state.bin", func(p string) error { return os.Truncate(p, 10) }},
		{"state.bin zeroed", "state.bin", zeroFile},
		{"meta.json truncated", "meta.json", func(p string) error { return os.Truncate(p, 5) }},
		{"meta.json empty", "meta.json", func(p string) error { return os.Truncate(p, 0) }},
		{"meta.json missing", "meta.json", os.Remove},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := copyServerDir(t, seed)
			snap, _ := filepath.Glob(filepath.Join(raftDir(cfg.DataDir), snapshotsDir, "*"))
			if err := c.damage(filepath.Join(snap[0], c.file)); err != nil {
				t.Fatal(err)
			}
			wantRefused(t, cfg, filepath.Join(snap[0], c.file))
			s := wantResetStarts(t, cfg, true)
			if j, _ := s.State().JobByID(nil, structs.DefaultNamespace, "web"); j == nil {
				t.Fatal("job lost: the log still held it")
			}
		})
	}
}

// TestSecurityCorruptStateRaftLog damages raft.db's contents in ways that
// leave a valid bbolt file: raft would panic on its own goroutine reading
// them (a log entry it cannot decode, a hole in the log, a term that is not
// 8 bytes). Fails without checkRaftLog: the test binary crashes.
func TestSecurityCorruptStateRaftLog(t *testing.T) {
	seed := seedServerDir(t, testutil.Logger(t), false)
	cases := []struct {
		name   string
		damage func(tx *bolt.Tx) error
	}{
		{"undecodable entry", func(tx *bolt.Tx) error {
			k, _ := tx.Bucket([]byte("logs")).Cursor().Last()
			return tx.Bucket([]byte("logs")).Put(k, []byte{0xc1, 0xff, 0x00})
		}},
		{"hole in the log", func(tx *bolt.Tx) error {
			c := tx.Bucket([]byte("logs")).Cursor()
			c.First()
			k, _ := c.Next()
			return tx.Bucket([]byte("logs")).Delete(k)
		}},
		{"short term", func(tx *bolt.Tx) error {
			return tx.Bucket([]byte("conf")).Put([]byte("CurrentTerm"), []byte{1})
		}},
		{"log emptied beside server-id", func(tx *bolt.Tx) error {
			if err := tx.DeleteBucket([]byte("logs")); err != nil {
				return err
			}
			if _, err := tx.CreateBucket([]byte("logs")); err != nil {
				return err
			}
			return tx.Bucket([]byte("conf")).Delete([]byte("CurrentTerm"))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := copyServerDir(t, seed)
			db, err := bolt.Open(filepath.Join(raftDir(cfg.DataDir), raftDBFile), 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Update(c.damage); err != nil {
				t.Fatal(err)
			}
			db.Close()
			wantRefused(t, cfg, filepath.Join(raftDir(cfg.DataDir), raftDBFile))
			wantResetStarts(t, cfg, c.name != "log emptied beside server-id")
		})
	}
}

// TestSecurityCorruptStateMissingRaftDB: raft.db gone beside the server-id
// file is a lost log, not a first start. Fails without priorCluster: the
// server bootstraps a new cluster.
func TestSecurityCorruptStateMissingRaftDB(t *testing.T) {
	seed := seedServerDir(t, testutil.Logger(t), false)
	cfg := copyServerDir(t, seed)
	if err := os.Remove(filepath.Join(raftDir(cfg.DataDir), raftDBFile)); err != nil {
		t.Fatal(err)
	}
	wantRefused(t, cfg, filepath.Join(raftDir(cfg.DataDir), raftDBFile))
	cfg.ResetCorruptState = true
	startServer(t, cfg)
}

// TestSecurityCorruptStateLogEntryStopsServer: a committed entry that
// does not decode, or that panics its handler, is reported on Err (the
// agent stops on it) instead of panicking raft's apply goroutine or being
// skipped. Fails without the FSM's guard: the test binary crashes, or
// nothing is reported.
func TestSecurityCorruptStateLogEntryStopsServer(t *testing.T) {
	s := testServer(t)
	f := s.raft.Apply([]byte{byte(structs.JobRegisterRequestType), 0xc1, 0xff}, waitLong)
	if err := f.Error(); err != nil {
		t.Fatal(err)
	}
	if err, ok := f.Response().(error); !ok || err == nil {
		t.Fatalf("undecodable entry applied without error: %v", f.Response())
	}
	select {
	case err := <-s.Err():
		if !strings.Contains(err.Error(), "cannot be applied") || !strings.Contains(err.Error(), "raft.db") {
			t.Fatalf("report does not say what and where: %v", err)
		}
	case <-time.After(waitLong):
		t.Fatal("undecodable entry not reported")
	}

	g := testFSM(t)
	var reported error
	g.corrupt = func(err error) { reported = err }
	res := g.Apply(entry(t, 1, structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{}))
	if _, ok := res.(error); !ok || reported == nil {
		t.Fatalf("entry without its node: result %v, reported %v", res, reported)
	}
}

func zeroFile(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	return os.WriteFile(path, make([]byte, fi.Size()), 0o600)
}

// copyServerDir copies the seed's data dir so each case damages its own.
func copyServerDir(t testing.TB, seed Config) Config {
	t.Helper()
	cfg := seed
	cfg.DataDir = t.TempDir()
	if err := os.CopyFS(cfg.DataDir, os.DirFS(seed.DataDir)); err != nil {
		t.Fatal(err)
	}
	if l, ok := t.(*testing.T); ok {
		cfg.Logger = testutil.Logger(l)
	}
	return cfg
}

// FuzzOpenRaftDB opens arbitrary bytes as raft.db the way the server does:
// it must refuse or open, never panic or fault. Seeds: a real raft.db and
// its corruptions.
func FuzzOpenRaftDB(f *testing.F) {
	seed := seedServerDir(f, slog.New(slog.DiscardHandler), false)
	raw, err := os.ReadFile(filepath.Join(raftDir(seed.DataDir), raftDBFile))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add([]byte{})
	f.Add(raw[:len(raw)/2])
	f.Add(make([]byte, len(raw)))
	mid := append([]byte(nil), raw...)
	clear(mid[2*4096 : 3*4096])
	f.Add(mid)
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.MkdirAll(raftDir(dir), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(raftDir(dir), raftDBFile), data, 0o600); err != nil {
			t.Fatal(err)
		}
		s := &Server{cfg: Config{DataDir: dir, BootstrapExpect: 1, Logger: slog.New(slog.DiscardHandler)}, logger: slog.New(slog.DiscardHandler)}
		if _, _, _, err := s.openRaftStores(); err == nil {
			for _, c := range s.closers {
				c()
			}
		}
	})
}

// FuzzFSMApply applies arbitrary entries: each gives a result (an error for
// garbage), never a panic on raft's goroutine. Seeds are real entries.
func FuzzFSMApply(f *testing.F) {
	h := wire.Handle()
	for _, e := range []struct {
		t   structs.MessageType
		msg any
	}{
		{structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: schedtest.MockNode()}},
		{structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: testJob("web", 2)}},
		{structs.EvalUpdateRequestType, &structs.EvalUpdateRequest{Evals: []*structs.Evaluation{newEval("default", "web", structs.JobTypeService, 50, structs.EvalTriggerJobRegister)}}},
		{structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{}},
	} {
		buf, err := wire.Encode(h, []byte{byte(e.t)}, e.msg)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(buf)
	}
	f.Add([]byte{})
	f.Add([]byte{byte(structs.JobRegisterRequestType), 0xc1})
	f.Fuzz(func(t *testing.T, data []byte) {
		fs := newFSM(mustStore(t), slog.New(slog.DiscardHandler))
		fs.Apply(&raft.Log{Index: 1, Type: raft.LogCommand, Data: data})
	})
}

// FuzzFSMRestore restores arbitrary bytes as a snapshot: an error, never a
// panic. The seed is a real snapshot.
func FuzzFSMRestore(f *testing.F) {
	fs := newFSM(mustStore(f), slog.New(slog.DiscardHandler))
	fs.Apply(entryTB(f, 1, structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: schedtest.MockNode()}))
	fs.Apply(entryTB(f, 2, structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: testJob("web", 1)}))
	snap, err := fs.Snapshot()
	if err != nil {
		f.Fatal(err)
	}
	var sink memSink
	if err := snap.Persist(&sink); err != nil {
		f.Fatal(err)
	}
	f.Add(sink.Bytes())
	f.Add(sink.Bytes()[:sink.Len()/2])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		g := newFSM(mustStore(t), slog.New(slog.DiscardHandler))
		_ = g.Restore(io.NopCloser(bytes.NewReader(data)))
	})
}

func mustStore(t testing.TB) *state.StateStore {
	st, err := state.NewStateStore()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func entryTB(t testing.TB, index uint64, typ structs.MessageType, msg any) *raft.Log {
	buf, err := wire.Encode(wire.Handle(), []byte{byte(typ)}, msg)
	if err != nil {
		t.Fatal(err)
	}
	return &raft.Log{Index: index, Type: raft.LogCommand, Data: buf}
}
