package exec

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/roam-sh/roam/drivers"
)

// checkTaskFile refuses to launch a command named relative to the task
// directory (command = "local/api") that is not there, with an error that
// says so, and marks it recoverable: the file is the operator's to
// provide (an artifact, a template, a copy into the allocation) and may
// arrive after the first attempt, so the job's restart policy, not this
// driver, decides how long the task waits for it.
//
// Absolute paths and bare names are found inside the task's root at exec
// time instead. The walk follows no link and stops at the first one (and
// at "..") leaving the verdict to that lookup inside the root, so what it
// says never depends on a host path outside the task directory.
func checkTaskFile(taskDir, command string) error {
	if command == "" || filepath.IsAbs(command) || !strings.ContainsRune(command, '/') {
		return nil
	}
	p := taskDir
	for _, part := range strings.Split(filepath.Clean(command), "/") {
		if part == ".." {
			return nil
		}
		p = filepath.Join(p, part)
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return drivers.NewRecoverableError(fmt.Errorf(
				"command %s: no such file in the task directory (%s): the job must provide it, for example with an artifact block", command, p))
		}
		if err != nil || fi.Mode()&fs.ModeSymlink != 0 {
			return nil
		}
	}
	return nil
}
