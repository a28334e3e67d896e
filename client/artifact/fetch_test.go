package artifact

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type entry struct {
	name, body, link string
	mode             int64
}

func tarGz(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, Size: int64(len(e.body)), Typeflag: tar.TypeReg}
		if e.mode == 0 {
			h.Mode = 0o644
		}
		if e.link != "" {
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, e.link, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); e.link == "" && err != nil {
			t.Fatal(err)
		}
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

func zipped(t *testing.T, name, body string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(body))
	zw.Close()
	return buf.Bytes()
}

func writeSrc(t *testing.T, name string, data []byte, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func fetch(t *testing.T, taskDir string, req Request) error {
	t.Helper()
	req.TaskDir = taskDir
	if req.Mode == "" {
		req.Mode = ModeAny
	}
	return (&Fetcher{AllowLocalPaths: true}).Fetch(t.Context(), req)
}

func TestLocalFileKeepsMode(t *testing.T) {
	task := t.TempDir()
	src := writeSrc(t, "tool.sh", []byte("#!/bin/sh\necho hi\n"), 0o755)
	if err := fetch(t, task, Request{Source: src, Destination: "local/"}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(task, "local/tool.sh"))
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("installed %v %v", fi, err)
	}
	// mode file copies to the exact destination.
	if err := fetch(t, task, Request{Source: "file://" + src, Destination: "local/bin/run", Mode: ModeFile}); err != nil {
		t.Fatal(err)
	}
	if read(t, filepath.Join(task, "local/bin/run")) != "#!/bin/sh\necho hi\n" {
		t.Fatal("mode file content")
	}
}

func TestFileURLTarGzUnpacked(t *testing.T) {
	task := t.TempDir()
	data := tarGz(t, entry{name: "app/run.sh", body: "run", mode: 0o755}, entry{name: "app/conf", body: "c"}, entry{name: "app/link", link: "conf"})
	src := writeSrc(t, "app.tar.gz", data, 0o644)
	sum := fmt.Sprintf("sha256:%x", sha256.Sum256(data))
	if err := fetch(t, task, Request{Source: "file://" + src, Destination: "local/", Options: map[string]string{"checksum": sum}}); err != nil {
		t.Fatal(err)
	}
	if read(t, filepath.Join(task, "local/app/run.sh")) != "run" || read(t, filepath.Join(task, "local/app/link")) != "c" {
		t.Fatal("unpacked content")
	}
	if fi, _ := os.Stat(filepath.Join(task, "local/app/run.sh")); fi.Mode().Perm() != 0o755 {
		t.Fatalf("mode %v", fi.Mode())
	}
	// mode file keeps the archive packed.
	if err := fetch(t, task, Request{Source: src, Destination: "local/packed.tgz", Mode: ModeFile}); err != nil {
		t.Fatal(err)
	}
	if read(t, filepath.Join(task, "local/packed.tgz")) != string(data) {
		t.Fatal("packed archive differs")
	}
}

func TestZipIntoDir(t *testing.T) {
	task := t.TempDir()
	src := writeSrc(t, "site.zip", zipped(t, "index.html", "<h1>"), 0o644)
	if err := fetch(t, task, Request{Source: src, Destination: "local/www", Mode: ModeDir}); err != nil {
		t.Fatal(err)
	}
	if read(t, filepath.Join(task, "local/www/index.html")) != "<h1>" {
		t.Fatal("zip content")
	}
	plain := writeSrc(t, "notes.txt", []byte("x"), 0o644)
	if err := fetch(t, task, Request{Source: plain, Mode: ModeDir}); err == nil {
		t.Fatal("mode dir accepted a plain file")
	}
}

func TestHTTPWithChecksum(t *testing.T) {
	body := tarGz(t, entry{name: "bin/app", body: "binary", mode: 0o755})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Token") != "t0k" {
			http.Error(w, "no token", http.StatusForbidden)
			return
		}
		if r.URL.Path != "/dl/app.tgz" {
			http.NotFound(w, r)
			return
		}
		w.Write(body)
	}))
	defer srv.Close()
	good := fmt.Sprintf("sha256:%x", sha256.Sum256(body))
	task := t.TempDir()
	headers := map[string]string{"X-Token": "t0k"}
	if err := fetch(t, task, Request{Source: srv.URL + "/dl/app.tgz?checksum=" + good, Headers: headers}); err != nil {
		t.Fatal(err)
	}
	if read(t, filepath.Join(task, "local/bin/app")) != "binary" {
		t.Fatal("downloaded content")
	}
	bad := "sha256:" + strings.Repeat("0", 64)
	err := fetch(t, t.TempDir(), Request{Source: srv.URL + "/dl/app.tgz", Headers: headers, Options: map[string]string{"checksum": bad}})
	if err == nil || !strings.Contains(err.Error(), "checksum mismatch") || !strings.Contains(err.Error(), fmt.Sprintf("%x", sha256.Sum256(body))) {
		t.Fatalf("bad checksum: %v", err)
	}
	if err := fetch(t, t.TempDir(), Request{Source: srv.URL + "/missing.tgz", Headers: headers}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("missing file: %v", err)
	}
}

func TestRefusesEscapes(t *testing.T) {
	task := t.TempDir()
	src := writeSrc(t, "f.txt", []byte("x"), 0o644)
	for _, dest := range []string{"../outside", "/etc", "local/../../x"} {
		if err := fetch(t, task, Request{Source: src, Destination: dest}); err == nil {
			t.Errorf("destination %q accepted", dest)
		}
	}
	for name, data := range map[string][]byte{
		"dotdot.tgz":  tarGz(t, entry{name: "../../evil", body: "x"}),
		"abs.tgz":     tarGz(t, entry{name: "ok", link: "/etc/passwd"}),
		"linkout.tgz": tarGz(t, entry{name: "l", link: "../../.."}),
	} {
		if err := fetch(t, task, Request{Source: writeSrc(t, name, data, 0o644)}); err == nil {
			t.Errorf("archive %s accepted", name)
		}
	}
	// A symlink already in the task dir cannot carry writes outside it.
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(task, "escape")); err != nil {
		t.Fatal(err)
	}
	if err := fetch(t, task, Request{Source: src, Destination: "escape/"}); err == nil {
		t.Error("wrote through a symlink leaving the task dir")
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Fatalf("files written outside the task dir: %v", entries)
	}
}

func TestUnsupportedSources(t *testing.T) {
	for _, src := range []string{"git::https://example.com/repo", "s3://bucket/key", "relative/path"} {
		err := fetch(t, t.TempDir(), Request{Source: src})
		if !errors.Is(err, ErrUnsupportedSource) {
			t.Errorf("%s: %v", src, err)
		}
	}
	if _, err := parseChecksum("crc32:abcd"); err == nil {
		t.Error("crc32 accepted")
	}
	if c, err := parseChecksum(strings.Repeat("a", 32)); err != nil || c.kind != "md5" {
		t.Errorf("bare md5: %v %v", c, err)
	}
}
