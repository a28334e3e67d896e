package confine

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/roam-sh/roam/structs"
)

// Where returns the path, relative to root, of what f is open on, as the
// kernel resolved it (the descriptor's /proc/self/fd link): whatever links
// a task planted on the way, this is where a read or write through f
// happens. A path check on the job's string cannot see those links; a
// check on Where's answer can. It is an error (ErrEscapes) for f to lie
// outside root, and one for f's file to have been deleted.
func Where(root string, f *os.File) (string, error) {
	where, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(int(f.Fd())))
	if err != nil {
		return "", fmt.Errorf("where is %s: %w", f.Name(), err)
	}
	// The link holds the resolved path; root may itself lie under a link
	// (a data dir in /var -> /srv).
	resolved, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", fmt.Errorf("where is %s: %w", f.Name(), err)
	}
	rel, ok := Rel(resolved, where)
	if !ok {
		return "", fmt.Errorf("%s resolves to %s: %w", f.Name(), where, ErrEscapes)
	}
	return rel, nil
}

// NotAgentOwned refuses f, an opened file or directory of the allocation
// at allocDir (joined with name, for a file about to be made in the
// directory f), when the kernel resolved it into a task's private/ folder
// (structs.AgentOwnedPath), whatever links a task planted on the way: roam
// keeps its control files there, and no path a job names may reach them.
func NotAgentOwned(allocDir string, f *os.File, name string) error {
	rel, err := Where(allocDir, f)
	if err != nil {
		return err
	}
	if p := filepath.ToSlash(filepath.Join(rel, name)); structs.AgentOwnedPath(p) {
		return fmt.Errorf("%s is in a task's %s/ folder, which holds roam's own files of the task: %w", p, structs.TaskPrivateDirName, ErrEscapes)
	}
	return nil
}
