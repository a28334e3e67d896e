package confine

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// tree is a root with a file inside and, beside it, an outside directory
// holding a file the root must never reach.
func tree(t *testing.T) (root, outside string) {
	t.Helper()
	base := t.TempDir()
	root, outside = filepath.Join(base, "root"), filepath.Join(base, "outside")
	for _, d := range []string{filepath.Join(root, "real"), outside} {
		must(t, os.MkdirAll(d, 0o755))
	}
	must(t, os.WriteFile(filepath.Join(root, "real", "f"), []byte("inside"), 0o644))
	must(t, os.WriteFile(filepath.Join(outside, "f"), []byte("outside"), 0o644))
	return root, outside
}

// Every way out a task can plant is refused, and said to be an escape.
func TestSecurityHostPathsOpenRefusesEscapes(t *testing.T) {
	root, outside := tree(t)
	links := map[string]string{
		"abs":       outside,           // absolute symlink
		"climb":     "../outside",      // relative symlink that climbs out
		"proc":      "/proc/self/root", // the host's root through /proc
		"procclimb": strings.Repeat("../", 20) + "proc/self/root",
		"dirlink":   outside, // used as an intermediate directory
		"fd":        "/proc/self/fd/0",
	}
	for name, target := range links {
		must(t, os.Symlink(target, filepath.Join(root, name)))
	}
	for _, rel := range []string{
		"abs", "abs/f", "climb/f", "proc", "proc/etc/hostname", "procclimb/etc", "dirlink/f", "fd",
		"../outside/f", "real/../../outside/f", "/etc/hostname", "real/../..",
	} {
		for _, rule := range []Rule{Beneath, NoSymlinks} {
			f, err := Open(root, rel, rule)
			if err == nil {
				f.Close()
				t.Errorf("%s (rule %#x): opened %s", rel, rule, f.Name())
				continue
			}
			if !errors.Is(err, ErrEscapes) {
				t.Errorf("%s (rule %#x): %v, want %v", rel, rule, err, ErrEscapes)
			}
		}
	}
	f, err := Open(root, "real/f", Beneath)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// InRoot treats the root as "/": an absolute symlink lands inside it.
func TestSecurityHostPathsInRootKeepsAbsoluteLinksInside(t *testing.T) {
	root, _ := tree(t)
	must(t, os.Symlink("/real", filepath.Join(root, "abs")))
	must(t, os.Symlink("/proc/self/root", filepath.Join(root, "proc")))
	f, err := OpenFile(root, "abs/f", unix.O_RDONLY, 0, InRoot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 16)
	n, _ := f.Read(b)
	if string(b[:n]) != "inside" {
		t.Fatalf("read %q through /real", b[:n])
	}
	if f, err := Open(root, "proc/etc", InRoot); err == nil || !errors.Is(err, os.ErrNotExist) && !errors.Is(err, ErrEscapes) {
		if f != nil {
			f.Close()
		}
		t.Fatalf("/proc/self/root inside the root: %v", err)
	}
}

// The race the issue names: a task flips a path between a directory and a
// symlink out while roam opens it. What Open returns is never the outside
// directory. The same loop run with a check-then-open (the old way) shows
// the race is real on this machine: it lands outside.
func TestSecurityHostPathsRaceSymlinkSwap(t *testing.T) {
	root, outside := tree(t)
	var outsideSt unix.Stat_t
	must(t, unix.Stat(outside, &outsideSt))
	// flip and spare swap places atomically (RENAME_EXCHANGE): the path is
	// always there, a directory one moment and a link out the next.
	p, spare := filepath.Join(root, "flip"), filepath.Join(root, "spare")
	must(t, os.Mkdir(p, 0o755))
	must(t, os.Symlink(outside, spare))
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		for !stop.Load() {
			_ = unix.Renameat2(unix.AT_FDCWD, p, unix.AT_FDCWD, spare, unix.RENAME_EXCHANGE)
		}
	}()
	defer func() { stop.Store(true); <-done }()

	isOutside := func(f *os.File) bool {
		var st unix.Stat_t
		must(t, unix.Fstat(int(f.Fd()), &st))
		return st.Dev == outsideSt.Dev && st.Ino == outsideSt.Ino
	}
	deadline := time.Now().Add(3 * time.Second)
	opened, naiveOut := 0, 0
	for time.Now().Before(deadline) && (opened < 1000 || naiveOut == 0) {
		if f, err := Open(root, "flip", Beneath); err == nil {
			opened++
			if isOutside(f) {
				f.Close()
				t.Fatal("Open returned the outside directory")
			}
			f.Close()
		}
		if f := checkThenOpen(p); f != nil {
			if isOutside(f) {
				naiveOut++
			}
			f.Close()
		}
	}
	t.Logf("confined opens: %d inside; check-then-open landed outside %d times", opened, naiveOut)
	if opened == 0 {
		t.Fatal("Open never caught the directory: the race loop proves nothing")
	}
}

// checkThenOpen is the pattern confine replaces: look at the path, decide
// it is no symlink, then open it by name.
func checkThenOpen(p string) *os.File {
	fi, err := os.Lstat(p)
	if err != nil || fi.Mode()&os.ModeSymlink != 0 {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return nil
	}
	return f
}

// MkdirAll creates through real directories only: a planted link in the
// middle of the path is refused, not followed, and nothing is created
// outside. Modes are set whatever the umask.
func TestSecurityHostPathsMkdirAllThroughLink(t *testing.T) {
	root, outside := tree(t)
	must(t, os.Symlink(outside, filepath.Join(root, "link")))
	if f, err := MkdirAll(root, "link/made/deeper", 0o777, Beneath); err == nil {
		f.Close()
		t.Fatal("created through a link out")
	} else if !errors.Is(err, ErrEscapes) {
		t.Fatalf("err %v, want %v", err, ErrEscapes)
	}
	if _, err := os.Stat(filepath.Join(outside, "made")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("something was made outside: %v", err)
	}
	f, err := MkdirAll(root, "a/b/c", 0o777, NoSymlinks)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := os.Stat(filepath.Join(root, "a", "b", "c"))
	if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o777 {
		t.Fatalf("a/b/c: %v %v", fi, err)
	}
}

// Bind mounts what was opened, even when the path was swapped for a link
// out between the open and the bind.
func TestSecurityHostPathsBindShowsWhatWasOpened(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("bind mounts need root")
	}
	root, outside := tree(t)
	f, err := Open(root, "real", Beneath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	must(t, os.Rename(filepath.Join(root, "real"), filepath.Join(root, "moved")))
	must(t, os.Symlink(outside, filepath.Join(root, "real")))
	priv := filepath.Join(t.TempDir(), "binds")
	must(t, PrivateDir(priv))
	target, err := Bind(f, priv, "0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { must(t, Unbind(target)) }()
	b, err := os.ReadFile(filepath.Join(target, "f"))
	if err != nil || string(b) != "inside" {
		t.Fatalf("bound %q %v, want the opened directory", b, err)
	}
}

// A FIFO or device node a task made is neither opened for reading (which
// would block on a FIFO) nor bound.
func TestSecurityHostPathsBindRefusesSpecialFiles(t *testing.T) {
	root, _ := tree(t)
	must(t, unix.Mkfifo(filepath.Join(root, "fifo"), 0o666))
	f, err := Open(root, "fifo", Beneath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := Bind(f, t.TempDir(), "0"); !errors.Is(err, ErrNotFileOrDir) {
		t.Fatalf("bind a FIFO: %v, want %v", err, ErrNotFileOrDir)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// The user-space walk (kernels before 5.6) gives the kernel's answers:
// for every path and rule, both open the same file or both refuse.
func TestSecurityHostPathsWalkMatchesKernel(t *testing.T) {
	root, outside := tree(t)
	for name, target := range map[string]string{
		"abs": outside, "climb": "../outside", "proc": "/proc/self/root",
		"procclimb": strings.Repeat("../", 20) + "proc/self/root",
		"inner":     "real", "innerabs": "/real", "loop": "loop", "up": "..",
	} {
		must(t, os.Symlink(target, filepath.Join(root, name)))
	}
	dir, err := os.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	rels := []string{
		"real/f", "inner/f", "innerabs/f", "abs/f", "climb/f", "proc/etc", "procclimb/etc", "loop",
		"real/../real/f", "up", "up/outside/f", "real/f/x", "missing", ".", "real/",
	}
	for _, rule := range []Rule{Beneath, InRoot, NoSymlinks} {
		for _, rel := range rels {
			how := unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: uint64(rule)}
			kfd, kerr := unix.Openat2(int(dir.Fd()), rel, &how)
			wfd, werr := walk(dir, rel, unix.O_PATH, 0, rule)
			if (kerr == nil) != (werr == nil) {
				t.Errorf("%s rule %#x: kernel %v, walk %v", rel, rule, kerr, werr)
			}
			if kerr == nil && werr == nil && !sameFile(t, kfd, wfd) {
				t.Errorf("%s rule %#x: kernel and walk opened different files", rel, rule)
			}
			for _, fd := range []int{kfd, wfd} {
				if fd >= 0 {
					unix.Close(fd)
				}
			}
		}
	}
}

func sameFile(t *testing.T, a, b int) bool {
	var sa, sb unix.Stat_t
	must(t, unix.Fstat(a, &sa))
	must(t, unix.Fstat(b, &sb))
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino
}
