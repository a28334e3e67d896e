package confine

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestSecurityHostPathsWhereSeesThroughLinks: Where names the file a
// descriptor opened through a planted link by its real place in the root,
// and refuses one outside it.
func TestSecurityHostPathsWhereSeesThroughLinks(t *testing.T) {
	root, outside := tree(t)
	must(t, os.Symlink("real", filepath.Join(root, "link")))
	f, err := Open(root, "link/f", Beneath)
	must(t, err)
	defer f.Close()
	if got, err := Where(root, f); err != nil || got != "real/f" {
		t.Errorf("Where(link/f) = %q, %v; want real/f", got, err)
	}
	// A root that is itself reached through a link.
	alias := filepath.Join(t.TempDir(), "alias")
	must(t, os.Symlink(root, alias))
	if got, err := Where(alias, f); err != nil || got != "real/f" {
		t.Errorf("Where through an aliased root = %q, %v; want real/f", got, err)
	}
	o, err := os.Open(filepath.Join(outside, "f"))
	must(t, err)
	defer o.Close()
	if _, err := Where(root, o); !errors.Is(err, ErrEscapes) {
		t.Errorf("Where(outside file) = %v, want ErrEscapes", err)
	}
}
