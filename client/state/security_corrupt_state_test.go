package state

import (
	"errors"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/roam-sh/roam/client/taskrunner"
	"github.com/roam-sh/roam/internal/statefile"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// seedClientDB writes a real client.db with an identity, an allocation,
// task state, a network and a hook state, and returns its bytes.
func seedClientDB(t testing.TB, logger *slog.Logger) []byte {
	t.Helper()
	dir := t.TempDir()
	db, err := Open(dir, logger)
	if err != nil {
		t.Fatal(err)
	}
	a := testAlloc()
	for _, err := range []error{
		db.PutNodeIdentity("node-1", "secret-1"),
		db.PutAllocation(a),
		db.PutTaskState(a.ID, "web", &structs.TaskState{State: structs.TaskStateRunning}),
		db.PutTaskRunnerLocalState(a.ID, "web", &taskrunner.LocalState{}),
		db.PutNetworkStatus(a.ID, &structs.AllocNetworkStatus{InterfaceName: "eth0", Address: "172.26.64.2"}),
		db.PutAllocHookState(a.ID, "network", []byte("state")),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	raw, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

var clientCorruptions = []struct {
	name  string
	apply func(raw []byte) []byte
}{
	{"empty", func([]byte) []byte { return []byte{} }},
	{"truncated", func(raw []byte) []byte { return raw[:len(raw)/2] }},
	{"zeroed", func(raw []byte) []byte { return make([]byte, len(raw)) }},
	{"random", func(raw []byte) []byte {
		r := rand.New(rand.NewPCG(7, 8))
		out := make([]byte, len(raw))
		for i := range out {
			out[i] = byte(r.UintN(256))
		}
		return out
	}},
	{"another bbolt file", func([]byte) []byte { return nil }}, // filled by the test
}

// TestSecurityCorruptStateClientDB: a damaged client.db is refused naming
// the file and the remedy, and -reset-state moves it aside. Fails on the
// old Open: bbolt starts afresh in an empty file, and errors without a
// remedy (or panics) on the others.
func TestSecurityCorruptStateClientDB(t *testing.T) {
	raw := seedClientDB(t, testutil.Logger(t))
	for _, c := range clientCorruptions {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, FileName)
			data := c.apply(raw)
			if data == nil {
				data = otherBolt(t)
			}
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			db, err := Open(dir, testutil.Logger(t))
			if err == nil {
				db.Close()
				t.Fatal("corrupt client state opened")
			}
			if !errors.Is(err, statefile.ErrCorrupt) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "-reset-state") {
				t.Fatalf("error does not name the file and the remedy:\n%v", err)
			}
			db, err = Open(dir, testutil.Logger(t), OpenOptions{ResetCorrupt: true})
			if err != nil {
				t.Fatalf("reset: %v", err)
			}
			defer db.Close()
			if id, _, _ := db.NodeIdentity(); id != "" {
				t.Fatalf("reset kept identity %q", id)
			}
			if moved, _ := filepath.Glob(path + ".corrupt-*"); len(moved) != 1 {
				t.Fatalf("corrupt file not kept aside: %v", moved)
			}
		})
	}
}

// otherBolt is a sound bbolt file that is not client state.
func otherBolt(t testing.TB) []byte {
	path := filepath.Join(t.TempDir(), "other.db")
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// FuzzOpenClientState opens arbitrary bytes as client.db and reads
// everything the client reads on restore: errors, never a panic.
func FuzzOpenClientState(f *testing.F) {
	logger := slog.New(slog.DiscardHandler)
	raw := seedClientDB(f, logger)
	f.Add(raw)
	for _, c := range clientCorruptions[:4] {
		f.Add(c.apply(raw))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, FileName), data, 0o600); err != nil {
			t.Fatal(err)
		}
		db, err := Open(dir, logger)
		if err != nil {
			return
		}
		defer db.Close()
		db.NodeIdentity()
		db.Leases()
		db.Networks()
		allocs, _, _ := db.Allocations()
		for _, a := range allocs {
			db.NetworkStatus(a.ID)
			db.AllocHookStates(a.ID)
			names, _ := db.TaskNames(a.ID)
			for _, n := range names {
				db.TaskRunnerState(a.ID, n)
			}
		}
	})
}
