package clientapi

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// allocTree lays out an allocation directory with the links a task could
// plant to reach outside it or into its secrets.
func allocTree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"alloc/logs/web.stdout.0": "hello\n",
		"web/local/conf.txt":      "conf\n",
		"web/secrets/token":       "s3cret\n",
		"web/private/state":       "private\n",
	}
	for p, body := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"web/local/up":        "../../../..",
		"web/local/etc":       "/etc",
		"web/local/to-token":  "../secrets/token",
		"web/local/to-secret": "../secrets",
		"web/local/to-log":    "../../alloc/logs/web.stdout.0",
		"web/local/to-local":  ".",
		"web/local/loop":      "loop",
	}
	for p, target := range links {
		if err := os.Symlink(target, filepath.Join(root, p)); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestResolveConfinesPaths(t *testing.T) {
	afs, err := openAllocFS(allocTree(t))
	if err != nil {
		t.Fatal(err)
	}
	defer afs.Close()
	tests := []struct {
		path    string
		want    string // resolved path when allowed
		wantErr error
	}{
		{"/", ".", nil},
		{"", ".", nil},
		{"alloc/logs/web.stdout.0", "alloc/logs/web.stdout.0", nil},
		{"/web/local/conf.txt", "web/local/conf.txt", nil},
		{"web/local/to-log", "alloc/logs/web.stdout.0", nil},
		{"web/local/to-local/to-local/conf.txt", "web/local/conf.txt", nil},
		{"../etc/passwd", "", errDotDot},
		{"web/../../etc", "", errDotDot},
		{"/etc/passwd", "", fs.ErrNotExist}, // a host path names nothing here
		{"web/local/up/etc/passwd", "", errEscapes},
		{"web/local/etc/passwd", "", errEscapes},
		{"web/secrets/token", "", errPrivate},
		{"web/secrets", "", errPrivate},
		{"web/private/state", "", errPrivate},
		{"web/local/to-token", "", errPrivate},
		{"web/local/to-secret/token", "", errPrivate},
		{"web/local/conf.txt/x", "", syscall.ENOTDIR},
		{"web/local/loop", "", syscall.ELOOP},
		{"web/local/missing", "", fs.ErrNotExist},
	}
	for _, tc := range tests {
		got, _, err := afs.resolve(tc.path)
		switch {
		case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
			t.Errorf("resolve(%q) = %q, %v; want error %v", tc.path, got, err, tc.wantErr)
		case tc.wantErr == nil && (err != nil || got != tc.want):
			t.Errorf("resolve(%q) = %q, %v; want %q", tc.path, got, err, tc.want)
		}
	}
	for _, err := range []error{errDotDot, errEscapes, errPrivate} {
		if code := statusCode(err); code != 400 && code != 403 {
			t.Errorf("%v answers %d", err, code)
		}
	}
}

// TestOpenDetectsSwap: a task that replaces a file with a symlink into its
// secrets between resolution and opening gets nothing.
func TestOpenDetectsSwap(t *testing.T) {
	root := allocTree(t)
	afs, err := openAllocFS(root)
	if err != nil {
		t.Fatal(err)
	}
	defer afs.Close()
	rel, fi, err := afs.resolve("web/local/conf.txt")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(root, rel)
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../secrets/token", p); err != nil {
		t.Fatal(err)
	}
	f, err := afs.open(rel, fi)
	if err == nil {
		b, _ := io.ReadAll(f)
		t.Fatalf("opened the swapped file and read %q", b)
	}
	if !errors.Is(err, errChanged) {
		t.Fatalf("open after swap: %v", err)
	}
}

// TestSecurityFileAPISecretsOfTaskNamedAlloc: an allocation admitted before
// task names were checked may hold a task named "alloc", whose secrets/ and
// private/ sit in the shared directory; they are refused like any task's,
// as are case variants (one directory on a case-insensitive file system).
func TestSecurityFileAPISecretsOfTaskNamedAlloc(t *testing.T) {
	root := allocTree(t)
	for _, p := range []string{"alloc/secrets/token", "alloc/private/state", "web/Secrets/token", "web/PRIVATE/state"} {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte("s3cret\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "alloc/data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../secrets/token", filepath.Join(root, "alloc/data/link")); err != nil {
		t.Fatal(err)
	}
	afs, err := openAllocFS(root)
	if err != nil {
		t.Fatal(err)
	}
	defer afs.Close()
	for _, p := range []string{
		"alloc/secrets/token", "alloc/secrets", "/alloc/secrets/", "alloc//secrets/./token",
		"alloc/private/state", "alloc/data/link", "web/Secrets/token", "web/PRIVATE/state",
	} {
		if rel, _, err := afs.resolve(p); !errors.Is(err, errPrivate) {
			t.Errorf("resolve(%q) = %q, %v; want errPrivate", p, rel, err)
		}
	}
}

// TestSecurityFileAPISwapToSpecialFile: a task that replaces a checked
// regular file with a FIFO or a device node between resolution and
// opening gets a refusal at once; the FIFO is never waited on (the old
// open blocked until a writer came) and the device never opened.
func TestSecurityFileAPISwapToSpecialFile(t *testing.T) {
	for name, mk := range map[string]func(string) error{
		"fifo": func(p string) error { return syscall.Mkfifo(p, 0o644) },
		"device": func(p string) error {
			if os.Geteuid() != 0 {
				t.Skip("needs root (mknod)")
			}
			return syscall.Mknod(p, syscall.S_IFCHR|0o644, 1<<8|5) // /dev/zero
		},
	} {
		t.Run(name, func(t *testing.T) {
			root := allocTree(t)
			afs, err := openAllocFS(root)
			if err != nil {
				t.Fatal(err)
			}
			defer afs.Close()
			rel, fi, err := afs.resolve("web/local/conf.txt")
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(root, rel)
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			if err := mk(p); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				f, err := afs.open(rel, fi)
				if err == nil {
					f.Close()
				}
				done <- err
			}()
			select {
			case err := <-done:
				if !errors.Is(err, errChanged) {
					t.Fatalf("open after swap: %v", err)
				}
			case <-time.After(10 * time.Second):
				// Unblock the old code's open so the test can end.
				if w, err := os.OpenFile(p, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
					w.Close()
				}
				t.Fatal("open after swap to a FIFO did not return")
			}
		})
	}
}

// TestSecurityFileAPIListBound: a directory with more entries than the cap
// is refused rather than read whole.
func TestSecurityFileAPIListBound(t *testing.T) {
	dir := t.TempDir()
	for i := range 2100 {
		if err := os.WriteFile(filepath.Join(dir, "f"+strconv.Itoa(i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if names, err := readNames(f, 2000); statusCode(err) != 400 {
		t.Fatalf("readNames over the cap: %d names, %v", len(names), err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	if names, err := readNames(f, 2100); err != nil || len(names) != 2100 {
		t.Fatalf("readNames at the cap: %d names, %v", len(names), err)
	}
}
