package collector

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/roam-sh/roam/drivers/executor"
)

// Names of the files a collector keeps in its directory.
const (
	specFile   = "spec.json"
	cursorFile = "cursor.json"
	handleFile = "handle.json"
	logFile    = "docker-logger.log"
)

// stopPoll is how often Stop looks whether the collector has exited.
const stopPoll = 50 * time.Millisecond

// SelfBinary returns how to start a collector from the running roam binary.
func SelfBinary() (executor.Binary, error) {
	p, err := os.Executable()
	if err != nil {
		return executor.Binary{}, fmt.Errorf("find own executable: %w", err)
	}
	return executor.Binary{Path: p, Args: []string{SubcommandName}}, nil
}

// Handle identifies a collector process. launch records it in the
// collector's directory, which is how a later client finds it again.
type Handle struct {
	PID   int    `json:"pid"`
	Start uint64 `json:"start"`
	Dir   string `json:"dir"`
}

// Ensure returns the collector running in dir, or launches one for spec.
// There is never more than one per dir, so a client that restarts any
// number of times keeps one collector per container; a collector that died
// is replaced and its successor continues from the saved cursor.
func Ensure(bin executor.Binary, dir string, spec Spec) (*Handle, error) {
	if h, ok := Find(dir); ok {
		return h, nil
	}
	return launch(bin, dir, spec)
}

// Find returns the collector recorded in dir if it is still running. The
// record is only believed for a process that proves to be dir's collector
// (Alive): its directory is dir, whatever the file says, so a record
// written by anyone else names no process roam will signal.
func Find(dir string) (*Handle, bool) {
	b, err := os.ReadFile(filepath.Join(dir, handleFile))
	if err != nil {
		return nil, false
	}
	var h Handle
	if json.Unmarshal(b, &h) != nil {
		return nil, false
	}
	h.Dir = dir
	if !h.Alive() {
		return nil, false
	}
	return &h, true
}

func launch(bin executor.Binary, dir string, spec Spec) (*Handle, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("collector dir: %w", err)
	}
	spec.CursorPath = filepath.Join(dir, cursorFile)
	specPath := filepath.Join(dir, specFile)
	b, _ := json.Marshal(spec)
	if err := os.WriteFile(specPath, b, 0o600); err != nil {
		return nil, fmt.Errorf("write collector spec: %w", err)
	}
	cmd, err := startProcess(bin, dir, specPath)
	if err != nil {
		return nil, err
	}
	start, err := executor.ProcessStartTime(cmd.Process.Pid)
	if err != nil {
		// Without its start time no later client could tell it from a
		// process that took its PID: not one to leave running.
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("record log collector: %w", err)
	}
	h := &Handle{PID: cmd.Process.Pid, Start: start, Dir: dir}
	b, _ = json.Marshal(h)
	if err := os.WriteFile(filepath.Join(dir, handleFile), b, 0o600); err != nil {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("record log collector: %w", err)
	}
	return h, nil
}

func startProcess(bin executor.Binary, dir, specPath string) (*exec.Cmd, error) {
	logf, err := os.OpenFile(filepath.Join(dir, logFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("collector log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(bin.Path, append(append([]string{}, bin.Args...), specPath)...)
	cmd.Env = append(os.Environ(), bin.Env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start log collector %s: %w", bin.Path, err)
	}
	// Reap it if it exits while this process runs; a later client finds it
	// again through the handle file.
	go func() { _ = cmd.Wait() }()
	return cmd, nil
}

// Alive reports whether the collector is still running: PID h.PID is
// alive, started at h.Start (a start of 0 never matches), and runs a
// collector of h.Dir (its last argument is h.Dir's spec file). The handle
// file lives with the task; the last two checks are what keep a record
// that is not the collector's own from naming another process.
func (h *Handle) Alive() bool {
	return executor.ProcessAlive(h.PID, h.Start) && h.isCollector()
}

// isCollector reports whether h.PID's command line is the one launch
// gives the collector of h.Dir.
func (h *Handle) isCollector() bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(h.PID) + "/cmdline")
	if err != nil {
		return false
	}
	args := strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
	return args[len(args)-1] == filepath.Join(h.Dir, specFile)
}

// Stop asks the collector to write what is left and exit (SIGTERM), and
// kills it if it has not exited after timeout. Signals go through a pidfd
// opened before the process is checked, so a PID freed and reused between
// the check and the signal is never hit.
func (h *Handle) Stop(timeout time.Duration) error {
	pidfd, err := unix.PidfdOpen(h.PID, 0)
	if err != nil {
		return nil // no such process: stopped already
	}
	defer unix.Close(pidfd)
	if !h.Alive() {
		return nil
	}
	if err := unix.PidfdSendSignal(pidfd, unix.SIGTERM, nil, 0); err != nil {
		return fmt.Errorf("stop log collector %d: %w", h.PID, err)
	}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if !h.Alive() {
			return nil
		}
		time.Sleep(stopPoll)
	}
	_ = unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0)
	return fmt.Errorf("log collector %d did not exit within %v; killed it", h.PID, timeout)
}
