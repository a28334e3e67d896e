package artifact

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// Links a task left in its dir for a later fetch (a restart re-fetches):
// an absolute link, one through /proc, a linked parent directory. The
// destination and every archive entry are written through os.Root on the
// task dir, so none of them carries a write out. (This held before the
// hardening: the test guards it.)
func TestSecurityHostPathsArtifactDestinationLink(t *testing.T) {
	body := tarGz(t, entry{name: "sub/f", body: "payload"})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write(body) }))
	defer srv.Close()
	task, outside := t.TempDir(), t.TempDir()
	if err := os.MkdirAll(filepath.Join(task, "local"), 0o755); err != nil {
		t.Fatal(err)
	}
	links := map[string]string{
		"local/abs":  outside,
		"local/proc": "/proc/self/root" + outside,
		"local/up":   "../../../../../../../.." + outside,
	}
	for link, target := range links {
		if err := os.Symlink(target, filepath.Join(task, link)); err != nil {
			t.Fatal(err)
		}
	}
	for _, dest := range []string{"local/abs/", "local/proc/", "local/up/", "local/abs/deeper/"} {
		if err := fetch(t, task, Request{Source: srv.URL + "/a.tgz", Destination: dest}); err == nil {
			t.Errorf("destination %s through a link out accepted", dest)
		}
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Fatalf("written outside the task dir: %v", entries)
	}
}
