package artifact_test

import (
	"archive/tar"
	"os"
	"path/filepath"
	"testing"

	"github.com/roam-sh/roam/client/artifact"
)

// allocLayout builds an allocation dir with the shared alloc/data, the
// fetching task "web" and a sibling task "other", each with secrets/ and
// private/, and returns the allocation dir.
func allocLayout(t *testing.T) string {
	t.Helper()
	alloc := filepath.Join(t.TempDir(), "alloc-1")
	for _, d := range []string{"alloc/data", "alloc/logs", "web/local", "web/secrets", "web/private", "other/local", "other/secrets", "other/private"} {
		if err := os.MkdirAll(filepath.Join(alloc, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return alloc
}

// TestSecurityArtifactsSharedAllocDestination: as in Nomad, an artifact may
// land in the allocation's shared alloc/ dir ("../alloc/data"), fetched for
// real from a loopback server through the sandboxed fetcher; every other
// way out of the task dir is refused and writes nothing: above the
// allocation (also spelled through alloc/..), another task's secrets/ or
// private/, the task's own ones reached from alloc/, and a symlink a task
// planted in alloc/data pointing out of it.
func TestSecurityArtifactsSharedAllocDestination(t *testing.T) {
	needRoot(t)
	base := serve(t, map[string][]byte{
		"/f.txt": []byte("shared"),
		"/a.tar": crafted(t, hdr{name: "sub/f", body: "payload", kind: tar.TypeReg}),
	})
	sb := sandbox(t, artifact.Config{})
	fetch := func(alloc, src, dest string, mode artifact.Mode) error {
		return sb.Fetch(t.Context(), artifact.Request{Source: base + src, Destination: dest, Mode: mode, TaskDir: filepath.Join(alloc, "web")}, artifact.FetchUser(""))
	}

	for _, c := range []struct {
		src, dest string
		mode      artifact.Mode
		want      string // path under the allocation dir
		body      string
	}{
		{"/f.txt", "../alloc/data/", artifact.ModeFile, "alloc/data/f.txt", "shared"},
		{"/f.txt", "../alloc/data/renamed.txt", artifact.ModeFile, "alloc/data/renamed.txt", "shared"},
		{"/a.tar", "../alloc/data", artifact.ModeAny, "alloc/data/sub/f", "payload"},
		{"/a.tar", "local/../../alloc/data/deep/", artifact.ModeAny, "alloc/data/deep/sub/f", "payload"},
		{"/a.tar", "../alloc", artifact.ModeAny, "alloc/sub/f", "payload"},
	} {
		alloc := allocLayout(t)
		if err := fetch(alloc, c.src, c.dest, c.mode); err != nil {
			t.Errorf("%s into %q: %v", c.src, c.dest, err)
			continue
		}
		if b, err := os.ReadFile(filepath.Join(alloc, c.want)); err != nil || string(b) != c.body {
			t.Errorf("%s into %q: %s holds %q, %v", c.src, c.dest, c.want, b, err)
		}
		if left, _ := filepath.Glob(filepath.Join(alloc, "*", ".roam-artifact-*")); len(left) != 0 {
			t.Errorf("%s into %q: staging left behind: %v", c.src, c.dest, left)
		}
	}

	for _, dest := range []string{
		"../alloc/../../x", "../alloc/../..", "../other/secrets", "../other/private/", "../other/local",
		"../alloc/../other/secrets", "../alloc/../web/secrets", "../alloc/../web/private", "../Alloc/data", "../..",
	} {
		alloc := allocLayout(t)
		if err := fetch(alloc, "/a.tar", dest, artifact.ModeAny); err == nil {
			t.Errorf("destination %q accepted", dest)
		}
		untouched(t, alloc, dest)
	}

	// A task plants links in alloc/data: one to the host, one up out of the
	// allocation, one to its sibling's secrets/.
	outside := t.TempDir()
	alloc := allocLayout(t)
	links := map[string]string{
		"alloc/data/abs":     outside,
		"alloc/data/up":      "../../../../../../../.." + outside,
		"alloc/data/sibling": "../../other/secrets",
	}
	for link, target := range links {
		if err := os.Symlink(target, filepath.Join(alloc, link)); err != nil {
			t.Fatal(err)
		}
	}
	for _, dest := range []string{"../alloc/data/abs/", "../alloc/data/up", "../alloc/data/sibling/", "../alloc/data/sibling/deeper/"} {
		if err := fetch(alloc, "/a.tar", dest, artifact.ModeAny); err == nil {
			t.Errorf("destination %q through a planted link accepted", dest)
		}
	}
	if err := fetch(alloc, "/f.txt", "../alloc/data/abs", artifact.ModeFile); err == nil {
		t.Error("a file onto a planted link accepted")
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("written outside the allocation: %v", entries)
	}
	untouched(t, alloc, "planted links")
}

// untouched fails if any task's secrets/ or private/ holds anything, or if
// the allocation dir's parent holds more than the allocation dir.
func untouched(t *testing.T, alloc, what string) {
	t.Helper()
	for _, d := range []string{"web/secrets", "web/private", "other/secrets", "other/private", "other/local"} {
		if entries, _ := os.ReadDir(filepath.Join(alloc, d)); len(entries) != 0 {
			t.Errorf("%s: %s holds %v", what, d, entries)
		}
	}
	if entries, _ := os.ReadDir(filepath.Dir(alloc)); len(entries) != 1 {
		t.Errorf("%s: written beside the allocation dir: %v", what, entries)
	}
}
