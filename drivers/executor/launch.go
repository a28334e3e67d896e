package executor

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/roam-sh/roam/internal/selfexec"
)

// Binary says how to start an executor process: normally the running roam
// binary with the "executor" subcommand (Args come before the spec path);
// tests re-execute the test binary.
type Binary = selfexec.Binary

// SelfBinary returns the Binary for the running roam executable.
func SelfBinary() (Binary, error) { return selfexec.Self(SubcommandName) }

// handshakeTimeout bounds how long Launch waits for the executor to report
// that the task started.
const handshakeTimeout = 30 * time.Second

// Launch starts an executor for spec, keeping its files in dir, and returns
// once the task has started. Spec's Socket and StatusPath are filled in by
// Launch. The executor is started in its own session so it survives the
// caller; the caller's process only reaps it if it exits first.
func Launch(ctx context.Context, bin Binary, dir string, spec Spec) (*Handle, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("executor dir: %w", err)
	}
	spec.Socket = "@roam-executor-" + randomID()
	spec.StatusPath = filepath.Join(dir, statusFile)
	if err := os.Remove(spec.StatusPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("remove old exit status: %w", err)
	}
	specPath := filepath.Join(dir, specFile)
	b, _ := json.Marshal(spec)
	if err := writeFileAtomic(specPath, b, 0o600); err != nil {
		return nil, fmt.Errorf("write executor spec: %w", err)
	}
	cmd, stdout, err := startProcess(bin, dir, specPath)
	if err != nil {
		return nil, err
	}
	hs, err := readHandshake(ctx, stdout)
	stdout.Close()
	if err != nil {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("executor handshake: %w", err)
	}
	if hs.Error != "" {
		return nil, errors.New(hs.Error)
	}
	start, _ := processStartTime(cmd.Process.Pid)
	return &Handle{
		ExecutorPID: cmd.Process.Pid, ExecutorStart: start,
		TaskPID: hs.TaskPID, TaskStart: hs.TaskStart, StartedAt: hs.StartedAt,
		Socket: spec.Socket, StatusPath: spec.StatusPath, Dir: dir,
	}, nil
}

func startProcess(bin Binary, dir, specPath string) (*exec.Cmd, io.ReadCloser, error) {
	logf, err := os.OpenFile(filepath.Join(dir, logFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("executor log: %w", err)
	}
	defer logf.Close()
	args := append(append([]string{}, bin.Args...), specPath)
	cmd := exec.Command(bin.Path, args...)
	cmd.Env = append(os.Environ(), bin.Env...)
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	// A plain pipe, not StdoutPipe: Wait (in the reaper below) would close a
	// StdoutPipe as soon as a quick executor exits, before the handshake is read.
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("executor stdout: %w", err)
	}
	cmd.Stdout = w
	err = cmd.Start()
	w.Close()
	if err != nil {
		r.Close()
		return nil, nil, fmt.Errorf("start executor %s: %w", bin.Path, err)
	}
	// Reap the executor if it exits while we are still around; a later client
	// process re-attaches through the socket and files instead.
	go func() { _ = cmd.Wait() }()
	return cmd, r, nil
}

func readHandshake(ctx context.Context, r io.ReadCloser) (*handshake, error) {
	ctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	type result struct {
		hs  *handshake
		err error
	}
	done := make(chan result, 1)
	go func() {
		line, err := bufio.NewReader(r).ReadBytes('\n')
		if err != nil {
			done <- result{err: fmt.Errorf("executor exited before reporting: %w", err)}
			return
		}
		var hs handshake
		if err := json.Unmarshal(line, &hs); err != nil {
			done <- result{err: fmt.Errorf("decode: %w", err)}
			return
		}
		done <- result{hs: &hs}
	}()
	select {
	case res := <-done:
		return res.hs, res.err
	case <-ctx.Done():
		r.Close()
		return nil, ctx.Err()
	}
}

func randomID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
