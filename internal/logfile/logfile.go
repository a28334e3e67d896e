package logfile

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/roam-sh/roam/internal/confine"
)

// Kind is which output stream a log file holds.
type Kind string

const (
	Stdout Kind = "stdout"
	Stderr Kind = "stderr"
)

func (k Kind) String() string { return string(k) }

// ParseKind accepts "stdout" and "stderr".
func ParseKind(s string) (Kind, error) {
	switch Kind(s) {
	case Stdout, Stderr:
		return Kind(s), nil
	}
	return "", fmt.Errorf("log type %q is not stdout or stderr", s)
}

// Base is the file name without its index: "<task>.<kind>".
func Base(task string, kind Kind) string { return task + "." + string(kind) }

// Name is the file name of one log file: "<task>.<kind>.<index>".
func Name(task string, kind Kind, index int) string {
	return Base(task, kind) + "." + strconv.Itoa(index)
}

// Index returns the index of a file named "<base>.<n>", or false for any
// other name (other tasks, fifos, temporary files).
func Index(name, base string) (int, bool) {
	rest, ok := strings.CutPrefix(name, base+".")
	if !ok || rest == "" || strings.TrimLeft(rest, "0123456789") != "" || len(rest) > 9 {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	return n, err == nil
}

// Indexes lists, in ascending order, the indexes of base's files in dir.
// A missing dir has none.
func Indexes(dir, base string) ([]int, error) {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list log dir: %w", err)
	}
	return IndexesOf(entryNames(entries), base), nil
}

// IndexesOf picks base's indexes out of a list of file names, ascending.
func IndexesOf(names []string, base string) []int {
	var out []int
	for _, n := range names {
		if i, ok := Index(n, base); ok {
			out = append(out, i)
		}
	}
	slices.Sort(out)
	return out
}

func entryNames(entries []os.DirEntry) []string {
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	return names
}

// OpenAppend opens (creating it if need be) the log file name in dir for
// appending. dir's parent is the allocation's shared dir, which tasks see
// and write: neither dir nor the file may be a symlink, and the file must be
// a regular one, or a task could have roam's output written (as root) into
// any host file, or block it on a FIFO.
func OpenAppend(dir, name string) (*os.File, error) {
	return confine.OpenRegular(filepath.Dir(dir), filepath.Join(filepath.Base(dir), name),
		unix.O_WRONLY|unix.O_CREAT|unix.O_APPEND, 0o644, confine.NoSymlinks)
}

// Remove removes the log file name from dir, refusing a dir that is a
// symlink (unlink itself never follows the name's own).
func Remove(dir, name string) error {
	d, err := confine.OpenFile(filepath.Dir(dir), filepath.Base(dir), unix.O_DIRECTORY|unix.O_RDONLY, 0, confine.NoSymlinks)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := unix.Unlinkat(int(d.Fd()), name, 0); err != nil {
		return &os.PathError{Op: "remove", Path: filepath.Join(dir, name), Err: err}
	}
	return nil
}

// MkdirAll creates the log dir beneath its parent, through no symlink.
func MkdirAll(dir string, perm os.FileMode) error {
	f, err := confine.MkdirAll(filepath.Dir(dir), filepath.Base(dir), perm, confine.NoSymlinks)
	if err != nil {
		return err
	}
	return f.Close()
}
