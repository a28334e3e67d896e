package artifact_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/roam-sh/roam/client/artifact"
	"github.com/roam-sh/roam/client/artifact/artifacttest"
	"github.com/roam-sh/roam/testutil"
)

func TestMain(m *testing.M) {
	artifacttest.MaybeRun()
	os.Exit(m.Run())
}

// needRoot skips tests that start the fetcher as another user.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the sandboxed fetcher changes user: run as root")
	}
}

func sandbox(t *testing.T, cfg artifact.Config) *artifact.Sandbox {
	cfg.Binary = artifacttest.Binary()
	return artifact.NewSandbox(cfg, testutil.Logger(t))
}

// serve starts a loopback HTTP server handing out files by path.
func serve(t *testing.T, files map[string][]byte) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// taskDir is a fresh task directory with a secrets/ sibling of local/ and a
// file beside the task dir, to see whether anything reached them.
func taskDir(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	task := filepath.Join(base, "task")
	for _, d := range []string{"local", "secrets"} {
		if err := os.MkdirAll(filepath.Join(task, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return task
}

// onlyUnder fails if the task dir holds anything outside local/ and
// secrets/ (empty), or if its parent holds anything but the task dir.
func onlyUnder(t *testing.T, task string) {
	t.Helper()
	if entries, _ := os.ReadDir(filepath.Join(task, "secrets")); len(entries) != 0 {
		t.Errorf("secrets/ written: %v", entries)
	}
	entries, _ := os.ReadDir(task)
	for _, e := range entries {
		if e.Name() != "local" && e.Name() != "secrets" {
			t.Errorf("task dir holds %s", e.Name())
		}
	}
	if entries, _ := os.ReadDir(filepath.Dir(task)); len(entries) != 1 {
		t.Errorf("written beside the task dir: %v", entries)
	}
}

func TestSecurityArtifactsLocalSourcesRefusedByDefault(t *testing.T) {
	needRoot(t)
	own := filepath.Join(t.TempDir(), "mine.txt")
	if err := os.WriteFile(own, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	sb := sandbox(t, artifact.Config{})
	for _, src := range []string{
		"file:///etc/passwd", "/etc/passwd", "../../etc/passwd", "../../../../../../etc/shadow",
		"file::/etc/passwd", "file::" + own, "file://" + own, own, "local/../../secrets",
		"file::https://example.com/x", "file://localhost/etc/passwd",
	} {
		task := taskDir(t)
		err := sb.Fetch(t.Context(), artifact.Request{Source: src, Destination: "local/", Mode: artifact.ModeAny, TaskDir: task}, artifact.FetchUser(""))
		if !errors.Is(err, artifact.ErrLocalSource) || !strings.Contains(err.Error(), "disable_filesystem_isolation") {
			t.Errorf("%s: got %v, want a refusal naming the setting", src, err)
		}
		if entries, _ := os.ReadDir(filepath.Join(task, "local")); len(entries) != 0 {
			t.Errorf("%s: fetched %v", src, entries)
		}
	}
}

func TestSecurityArtifactsLocalSourcesAllowedByOperator(t *testing.T) {
	needRoot(t)
	// t.TempDir's parent is private to root; the operator's file must sit
	// where the task's user can reach it.
	dir, err := os.MkdirTemp("", "roam-artifact-local-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	readable := filepath.Join(dir, "shared.txt")
	if err := os.WriteFile(readable, []byte("operator's file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sb := sandbox(t, artifact.Config{DisableFilesystemIsolation: true})
	for _, src := range []string{"file::" + readable, "file://" + readable, readable} {
		task := taskDir(t)
		if err := sb.Fetch(t.Context(), artifact.Request{Source: src, Destination: "local/", Mode: artifact.ModeAny, TaskDir: task}, artifact.FetchUser("")); err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if b, err := os.ReadFile(filepath.Join(task, "local", "shared.txt")); err != nil || string(b) != "operator's file\n" {
			t.Fatalf("%s: got %q, %v", src, b, err)
		}
	}
	// Allowed, local paths are still read as the task's user: root's files
	// stay out of reach.
	secret := filepath.Join(dir, "root-only.txt")
	if err := os.WriteFile(secret, []byte("root's secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	task := taskDir(t)
	err = sb.Fetch(t.Context(), artifact.Request{Source: secret, Destination: "local/", Mode: artifact.ModeAny, TaskDir: task}, artifact.FetchUser(""))
	if err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("root-only file fetched: %v", err)
	}
	onlyUnder(t, task)
	if entries, _ := os.ReadDir(filepath.Join(task, "local")); len(entries) != 0 {
		t.Errorf("fetched %v", entries)
	}
}

// hdr is one crafted tar entry.
type hdr struct {
	name, body, link string
	kind             byte
}

func crafted(t *testing.T, entries ...hdr) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0o644, Typeflag: e.kind, Linkname: e.link}
		if e.kind == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.kind == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zipOf(t *testing.T, name, body string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(body))
	zw.Close()
	return buf.Bytes()
}

func TestSecurityArtifactsArchiveTraversal(t *testing.T) {
	needRoot(t)
	const reg, sym, hard = tar.TypeReg, tar.TypeSymlink, tar.TypeLink
	archives := map[string][]byte{
		"/dotdot.tar":      crafted(t, hdr{name: "../secrets/evil", body: "x", kind: reg}),
		"/deep-dotdot.tar": crafted(t, hdr{name: "a/../../../../evil", body: "x", kind: reg}),
		"/absolute.tar":    crafted(t, hdr{name: "/tmp/evil", body: "x", kind: reg}),
		"/symlink-abs.tar": crafted(t, hdr{name: "l", link: "/etc", kind: sym}, hdr{name: "l/evil", body: "x", kind: reg}),
		"/symlink-up.tar":  crafted(t, hdr{name: "l", link: "../secrets", kind: sym}, hdr{name: "l/evil", body: "x", kind: reg}),
		// Each link is fine by its own name; together they climb out of
		// the destination into secrets/.
		"/symlink-chain.tar": crafted(t,
			hdr{name: "d/", kind: tar.TypeDir}, hdr{name: "d/l", link: "..", kind: sym},
			hdr{name: "d/l/l2", link: "..", kind: sym}, hdr{name: "d/l/l2/secrets/evil", body: "x", kind: reg}),
		// A link inside the destination, then a file written through it.
		"/through-link.tar": crafted(t, hdr{name: "sub/", kind: tar.TypeDir}, hdr{name: "l", link: "sub", kind: sym},
			hdr{name: "l/../../secrets/evil", body: "x", kind: reg}),
		"/hardlink-abs.tar": crafted(t, hdr{name: "h", link: "/etc/passwd", kind: hard}),
		"/hardlink-up.tar":  crafted(t, hdr{name: "h", link: "../../../etc/passwd", kind: hard}),
		"/zip-dotdot.zip":   zipOf(t, "../secrets/evil", "x"),
		"/zip-abs.zip":      zipOf(t, "/tmp/evil", "x"),
	}
	base := serve(t, archives)
	sb := sandbox(t, artifact.Config{})
	for name := range archives {
		t.Run(strings.TrimPrefix(name, "/"), func(t *testing.T) {
			task := taskDir(t)
			err := sb.Fetch(t.Context(), artifact.Request{Source: base + name, Destination: "local/", Mode: artifact.ModeAny, TaskDir: task}, artifact.FetchUser(""))
			if err == nil {
				t.Errorf("archive accepted")
			}
			onlyUnder(t, task)
			if _, err := os.Stat("/tmp/evil"); err == nil {
				t.Errorf("/tmp/evil written")
			}
		})
	}
}

func TestSecurityArtifactsDecompressionBomb(t *testing.T) {
	needRoot(t)
	var bomb bytes.Buffer
	gz, _ := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	tw := tar.NewWriter(gz)
	const size = 256 << 20
	tw.WriteHeader(&tar.Header{Name: "zeros", Mode: 0o644, Size: size, Typeflag: tar.TypeReg})
	io.CopyN(tw, zeroReader{}, size)
	tw.Close()
	gz.Close()
	var many []hdr
	for i := range 500 {
		many = append(many, hdr{name: "f" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + "/" + strings.Repeat("n", 1+i%50), kind: tar.TypeReg})
	}
	var gzBomb bytes.Buffer
	g2, _ := gzip.NewWriterLevel(&gzBomb, gzip.BestCompression)
	io.CopyN(g2, zeroReader{}, size)
	g2.Close()
	base := serve(t, map[string][]byte{
		"/bomb.tar.gz": bomb.Bytes(), "/many.tar": crafted(t, many...), "/bomb.gz": gzBomb.Bytes(),
		"/big.bin": make([]byte, 4<<20),
	})
	sb := sandbox(t, artifact.Config{DecompressionLimitSize: 1 << 20, DecompressionLimitFileCount: 100, HTTPMaxSize: 2 << 20})
	for _, name := range []string{"/bomb.tar.gz", "/bomb.gz", "/many.tar", "/big.bin"} {
		task := taskDir(t)
		err := sb.Fetch(t.Context(), artifact.Request{Source: base + name, Destination: "local/", Mode: artifact.ModeAny, TaskDir: task}, artifact.FetchUser(""))
		if !errors.Is(err, artifact.ErrLimit) {
			t.Errorf("%s: got %v, want a limit", name, err)
		}
		if entries, _ := os.ReadDir(filepath.Join(task, "local")); len(entries) != 0 {
			t.Errorf("%s: partial result left in local/: %v", name, entries)
		}
		onlyUnder(t, task)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestSecurityArtifactsTimeoutKillsFetcher(t *testing.T) {
	needRoot(t)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.Write([]byte("slow"))
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	sb := sandbox(t, artifact.Config{HTTPReadTimeout: 300 * time.Millisecond})
	start := time.Now()
	err := sb.Fetch(t.Context(), artifact.Request{Source: srv.URL + "/slow", Destination: "local/", Mode: artifact.ModeAny, TaskDir: taskDir(t)}, artifact.FetchUser(""))
	if !errors.Is(err, artifact.ErrLimit) || !strings.Contains(err.Error(), "http_read_timeout") {
		t.Fatalf("got %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("timeout took %s", d)
	}
}

func TestSecurityArtifactsRedirectToFileRefused(t *testing.T) {
	needRoot(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
	}))
	t.Cleanup(srv.Close)
	task := taskDir(t)
	err := sandbox(t, artifact.Config{}).Fetch(t.Context(), artifact.Request{Source: srv.URL + "/passwd", Destination: "local/", Mode: artifact.ModeAny, TaskDir: task}, artifact.FetchUser(""))
	if err == nil || !strings.Contains(err.Error(), "redirect to file:///etc/passwd refused") {
		t.Fatalf("got %v", err)
	}
	onlyUnder(t, task)
}

func TestSecurityArtifactsFetcherRunsAsTaskUser(t *testing.T) {
	needRoot(t)
	base := serve(t, map[string][]byte{"/app.tar": crafted(t, hdr{name: "bin/app", body: "#!/bin/sh\n", kind: tar.TypeReg})})
	sb := sandbox(t, artifact.Config{})
	nobody := artifact.FetchUser("nobody")
	daemon := artifact.FetchUser("daemon")
	if daemon == nobody || daemon.UID == 0 {
		t.Skip("no daemon user on this host")
	}
	for _, c := range []struct {
		user string
		want artifact.Credential
	}{
		{"daemon", daemon}, // the task's own user
		{"", nobody},       // no user: nobody
		{"root", nobody},   // root tasks do not get a root fetcher
		{"no-such-user-for-roam", nobody},
	} {
		task := taskDir(t)
		if err := sb.Fetch(t.Context(), artifact.Request{Source: base + "/app.tar", Destination: "local/", Mode: artifact.ModeAny, TaskDir: task}, artifact.FetchUser(c.user)); err != nil {
			t.Fatalf("%q: %v", c.user, err)
		}
		for _, p := range []string{"local/bin", "local/bin/app"} {
			fi, err := os.Lstat(filepath.Join(task, p))
			if err != nil {
				t.Fatalf("%q: %v", c.user, err)
			}
			st := fi.Sys().(*syscall.Stat_t)
			if st.Uid != c.want.UID || st.Gid != c.want.GID {
				t.Errorf("user %q: %s owned by %d:%d, want %d:%d", c.user, p, st.Uid, st.Gid, c.want.UID, c.want.GID)
			}
		}
		onlyUnder(t, task)
	}
}

// private/ holds roam's own files for the task (executor state): neither a
// destination nor an archive entry reaches it.
func TestSecurityArtifactsPrivateDirRefused(t *testing.T) {
	needRoot(t)
	base := serve(t, map[string][]byte{
		"/f.txt":    []byte("x"),
		"/priv.tar": crafted(t, hdr{name: "private/executor.json", body: "{}", kind: tar.TypeReg}),
	})
	sb := sandbox(t, artifact.Config{})
	for _, c := range []struct{ src, dest string }{
		{"/f.txt", "private/"}, {"/f.txt", "private"}, {"/f.txt", "./private/x/"}, {"/f.txt", "Private/"},
		{"/priv.tar", "."}, {"/priv.tar", "./"},
	} {
		task := taskDir(t)
		if err := os.Mkdir(filepath.Join(task, "private"), 0o700); err != nil {
			t.Fatal(err)
		}
		err := sb.Fetch(t.Context(), artifact.Request{Source: base + c.src, Destination: c.dest, Mode: artifact.ModeAny, TaskDir: task}, artifact.FetchUser(""))
		if err == nil {
			t.Errorf("%s into %q accepted", c.src, c.dest)
		}
		if entries, _ := os.ReadDir(filepath.Join(task, "private")); len(entries) != 0 {
			t.Errorf("%s into %q: private/ holds %v", c.src, c.dest, entries)
		}
	}
}

// Links a task left in its dir (a client restart fetches again) are
// replaced by what the fetch brings, never written through: the agent moves
// the staged files in, looking at each name without following it.
func TestSecurityArtifactsPlantedLinkReplaced(t *testing.T) {
	needRoot(t)
	base := serve(t, map[string][]byte{"/a.tar": crafted(t, hdr{name: "sub/f", body: "payload", kind: tar.TypeReg})})
	outside := t.TempDir()
	task := taskDir(t)
	for link, target := range map[string]string{"local/abs": outside, "local/up": "../../../../../../.." + outside, "local/sub": outside} {
		if err := os.Symlink(target, filepath.Join(task, link)); err != nil {
			t.Fatal(err)
		}
	}
	sb := sandbox(t, artifact.Config{})
	for _, dest := range []string{"local/abs/", "local/up/", "local/"} {
		if err := sb.Fetch(t.Context(), artifact.Request{Source: base + "/a.tar", Destination: dest, Mode: artifact.ModeAny, TaskDir: task}, artifact.FetchUser("")); err != nil {
			t.Fatalf("%s: %v", dest, err)
		}
		if b, err := os.ReadFile(filepath.Join(task, dest, "sub", "f")); err != nil || string(b) != "payload" {
			t.Fatalf("%s: %q %v", dest, b, err)
		}
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Fatalf("written outside the task dir: %v", entries)
	}
}

// A staging directory an agent that died mid-fetch left behind is gone after
// the next fetch: a half-fetched artifact does not stay for the task.
func TestSecurityArtifactsStaleStagingRemoved(t *testing.T) {
	needRoot(t)
	base := serve(t, map[string][]byte{"/f.txt": []byte("x")})
	task := taskDir(t)
	stale := filepath.Join(task, ".roam-artifact-0123456789abcdef", "local")
	if err := os.MkdirAll(stale, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := sandbox(t, artifact.Config{}).Fetch(t.Context(), artifact.Request{Source: base + "/f.txt", Destination: "local/", Mode: artifact.ModeAny, TaskDir: task}, artifact.FetchUser("")); err != nil {
		t.Fatal(err)
	}
	onlyUnder(t, task)
}

// fetcherStatus finds this process's fetcher child and reads what the
// kernel says about it: /proc/<pid>/status lines and its data limit.
func fetcherStatus() (map[string]string, error) {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		cmd, _ := os.ReadFile(filepath.Join(d, "cmdline"))
		if !bytes.Contains(cmd, []byte(artifact.SubcommandName)) {
			continue
		}
		st, err := os.ReadFile(filepath.Join(d, "status"))
		if err != nil {
			continue
		}
		fields := map[string]string{}
		for _, line := range strings.Split(string(st), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok {
				fields[k] = strings.Join(strings.Fields(v), " ")
			}
		}
		if fields["PPid"] != fmt.Sprint(os.Getpid()) {
			continue
		}
		limits, _ := os.ReadFile(filepath.Join(d, "limits"))
		for _, line := range strings.Split(string(limits), "\n") {
			if strings.HasPrefix(line, "Max data size") {
				fields["data"] = strings.Fields(strings.TrimPrefix(line, "Max data size"))[0]
			}
		}
		// no_new_privs is per thread and status shows the main thread's:
		// every thread must have it, or one of them could exec and gain.
		threads, _ := filepath.Glob(filepath.Join(d, "task", "[0-9]*", "status"))
		for _, th := range threads {
			b, _ := os.ReadFile(th)
			if !bytes.Contains(b, []byte("\nNoNewPrivs:\t1\n")) {
				fields["NoNewPrivs"] = "0 on thread " + filepath.Base(filepath.Dir(th))
			}
		}
		return fields, nil
	}
	return nil, errors.New("no fetcher process found")
}

// The fetcher, seen by the kernel while it downloads: the task's user, no
// supplementary groups, no capabilities, no_new_privs, a data limit.
func TestSecurityArtifactsFetcherProcessUnprivileged(t *testing.T) {
	needRoot(t)
	seen := make(chan map[string]string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st, err := fetcherStatus()
		if err != nil {
			st = map[string]string{"error": err.Error()}
		}
		seen <- st
		w.Write([]byte("x"))
	}))
	t.Cleanup(srv.Close)
	daemon := artifact.FetchUser("daemon")
	if daemon.UID == 0 || daemon == artifact.FetchUser("") {
		t.Skip("no daemon user on this host")
	}
	sb := sandbox(t, artifact.Config{MemoryBytes: 512 << 20})
	if err := sb.Fetch(t.Context(), artifact.Request{Source: srv.URL + "/f.txt", Destination: "local/", Mode: artifact.ModeAny, TaskDir: taskDir(t)}, daemon); err != nil {
		t.Fatal(err)
	}
	st := <-seen
	id := fmt.Sprint(daemon.UID)
	want := map[string]string{
		"Uid": strings.Repeat(id+" ", 3) + id, "Gid": strings.Repeat(fmt.Sprint(daemon.GID)+" ", 3) + fmt.Sprint(daemon.GID),
		"Groups": "", "CapEff": "0000000000000000", "CapPrm": "0000000000000000", "CapAmb": "0000000000000000",
		"NoNewPrivs": "1", "data": fmt.Sprint(512 << 20),
	}
	for k, v := range want {
		if st[k] != v {
			t.Errorf("fetcher %s = %q, want %q (status %v)", k, st[k], v, st)
		}
	}
}
