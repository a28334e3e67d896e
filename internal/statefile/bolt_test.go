package statefile

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// writeBolt makes a real database with nested buckets and a value large
// enough to span overflow pages, and returns its bytes.
func writeBolt(t testing.TB) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "seed.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("top"))
		if err != nil {
			return err
		}
		n, err := b.CreateBucket([]byte("nested"))
		if err != nil {
			return err
		}
		for i := range 200 {
			if err := n.Put([]byte{byte(i), 1}, []byte(strings.Repeat("v", i))); err != nil {
				return err
			}
		}
		return b.Put([]byte("big"), make([]byte, 20000))
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// corruptions are the ways a state file is found damaged; each keeps the
// original's bytes it needs.
var corruptions = []struct {
	name  string
	apply func(raw []byte) []byte
}{
	{"empty", func([]byte) []byte { return nil }},
	{"truncated to half", func(raw []byte) []byte { return raw[:len(raw)/2] }},
	{"truncated mid-page", func(raw []byte) []byte { return raw[:len(raw)-100] }},
	{"zeroed", func(raw []byte) []byte { return make([]byte, len(raw)) }},
	{"random", func(raw []byte) []byte {
		r := rand.New(rand.NewPCG(1, 2))
		out := make([]byte, len(raw))
		for i := range out {
			out[i] = byte(r.UintN(256))
		}
		return out
	}},
	{"data pages zeroed", func(raw []byte) []byte {
		out := append([]byte(nil), raw...)
		clear(out[2*4096:])
		return out
	}},
	{"data pages random", func(raw []byte) []byte {
		out := append([]byte(nil), raw...)
		r := rand.New(rand.NewPCG(3, 4))
		for i := 2 * 4096; i < len(out); i++ {
			out[i] = byte(r.UintN(256))
		}
		return out
	}},
	{"text file", func([]byte) []byte { return []byte("not a database\n") }},
}

func TestCheckBoltRefusesCorruptFiles(t *testing.T) {
	raw := writeBolt(t)
	for _, c := range corruptions {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.db")
			if err := os.WriteFile(path, c.apply(raw), 0o600); err != nil {
				t.Fatal(err)
			}
			err := CheckBolt(path)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("CheckBolt = %v, want a corrupt state error", err)
			}
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q does not name the file", err)
			}
		})
	}
}

func TestCheckBoltAcceptsGoodAndMissingFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	if err := CheckBolt(path); err != nil {
		t.Fatalf("missing file: %v", err)
	}
	if err := os.WriteFile(path, writeBolt(t), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := CheckBolt(path); err != nil {
		t.Fatalf("good file: %v", err)
	}
}

func TestCheckBoltReportsAFileInUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := CheckBolt(path); !errors.Is(err, ErrInUse) || errors.Is(err, ErrCorrupt) {
		t.Fatalf("CheckBolt on a held file = %v, want in use (not corrupt)", err)
	}
}

func TestMoveAsideKeepsTheFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "raft.db")
	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	dst, err := MoveAside(path, fixedTime)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(dst); err != nil || string(b) != "x" {
		t.Fatalf("moved file %s: %q, %v", dst, b, err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("original still there: %v", err)
	}
}

// FuzzCheckBolt feeds CheckBolt arbitrary files: it must answer, never panic
// or fault. The seeds are a real database and its corruptions.
func FuzzCheckBolt(f *testing.F) {
	raw := writeBolt(f)
	f.Add(raw)
	for _, c := range corruptions {
		f.Add(c.apply(raw))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "fuzz.db")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		_ = CheckBolt(path)
	})
}

var fixedTime = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)

// TestCheckBoltFollowsSymlinks: an operator may keep a state file on
// another disk behind a symlink; that is not corruption.
func TestCheckBoltFollowsSymlinks(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real.db")
	if err := os.WriteFile(real, writeBolt(t), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "state.db")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if err := CheckBolt(link); err != nil {
		t.Fatalf("symlinked state file: %v", err)
	}
}
