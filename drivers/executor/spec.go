package executor

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Spec is what the executor runs. The driver writes it to the executor dir as
// JSON (mode 0600: the environment may hold secrets) and passes its path.
type Spec struct {
	// Command is resolved against the task dir and the task's PATH.
	Command string   `json:"command"`
	Args    []string `json:"args"`
	Env     []string `json:"env"`
	// Dir is the working directory; TaskDir is where relative commands are
	// looked up (local/ first).
	Dir     string `json:"dir"`
	TaskDir string `json:"task_dir"`
	// User, when set, is who the task runs as (the executor must be root).
	User string `json:"user,omitempty"`
	// Logs is where the task's output goes and how it is rotated. Without
	// it the output is appended to StdoutPath and StderrPath, unrotated.
	Logs       *LogSpec `json:"logs,omitempty"`
	StdoutPath string   `json:"stdout_path,omitempty"`
	StderrPath string   `json:"stderr_path,omitempty"`
	// StatusPath receives the ExitStatus when the task exits.
	StatusPath string `json:"status_path"`
	// Socket is the unix socket address the executor listens on.
	Socket string `json:"socket"`
	// NetNSPath, when set, is the network namespace the task runs in.
	NetNSPath string `json:"netns_path,omitempty"`
	// Isolation, when set, runs the task isolated (see Isolation); then Dir
	// is ignored for Isolation.WorkDir and TaskDir becomes the task's root.
	Isolation *Isolation `json:"isolation,omitempty"`
}

// ExitStatus is how the task ended, as recorded by the executor.
type ExitStatus struct {
	ExitCode  int       `json:"exit_code"`
	Signal    int       `json:"signal"`
	OOMKilled bool      `json:"oom_killed"`
	ExitedAt  time.Time `json:"exited_at"`
	// Err is set when the executor could not run or wait for the task.
	Err string `json:"err,omitempty"`
}

// Names of the files an executor keeps in its directory.
const (
	specFile   = "spec.json"
	statusFile = "status.json"
	logFile    = "executor.log"
)

// signalExitBase mirrors the shell: a task killed by signal N reports exit
// code 128+N, with Signal set to N.
const signalExitBase = 128

func readSpec(path string) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read spec: %w", err)
	}
	var s Spec
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("decode spec %s: %w", path, err)
	}
	return &s, nil
}

// writeFileAtomic writes b to path through a temporary file and a rename, so
// a reader sees either nothing or the whole file.
func writeFileAtomic(path string, b []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// ReadExitStatus reads a recorded exit status; ok is false if there is none.
func ReadExitStatus(path string) (st *ExitStatus, ok bool, err error) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read exit status: %w", err)
	}
	st = new(ExitStatus)
	if err := json.Unmarshal(b, st); err != nil {
		return nil, false, fmt.Errorf("decode exit status %s: %w", path, err)
	}
	return st, true, nil
}
