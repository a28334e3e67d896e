package allocdir

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/roam-sh/roam/internal/confine"
	"github.com/roam-sh/roam/testutil"
)

// Build runs again over a tree tasks have written (a task restart, a client
// restart). A task that swapped one of the tree's dirs for a symlink to a
// host dir must not have roam chmod that host dir to 0777, or make dirs in
// it. (Before confine, Build followed the link: chmod 0777 as root.)
func TestSecurityHostPathsRebuildThroughLink(t *testing.T) {
	for _, swapped := range []string{
		filepath.Join(SharedAllocName, SharedDataDir), // alloc/data, any task of the alloc
		filepath.Join(SharedAllocName, LogDirName),    // alloc/logs
		filepath.Join("web", TaskLocal),               // the task's own local/
		filepath.Join("web", TaskSecrets),             // secrets/ (a plain dir when not root)
	} {
		t.Run(swapped, func(t *testing.T) {
			d := New(t.TempDir(), "a1", testutil.Logger(t))
			td := d.TaskDir("web")
			if err := d.Build(); err != nil {
				t.Fatal(err)
			}
			if err := td.Build(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = d.Destroy() })
			host := t.TempDir()
			if err := os.Chmod(host, 0o700); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(d.Dir, swapped)
			_ = td.Unmount() // a tmpfs cannot be swapped while mounted
			if err := os.RemoveAll(p); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(host, p); err != nil {
				t.Fatal(err)
			}
			err := d.Build()
			if err == nil {
				err = td.Build()
			}
			if !errors.Is(err, confine.ErrEscapes) {
				t.Fatalf("rebuild over %s -> %s: %v, want %v", swapped, host, err, confine.ErrEscapes)
			}
			if fi, err := os.Stat(host); err != nil || fi.Mode().Perm() != 0o700 {
				t.Fatalf("host dir now %v %v", fi.Mode(), err)
			}
		})
	}
}
