package cgroups

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// emptyTimeout bounds how long Remove waits for killed processes to leave.
const emptyTimeout = 10 * time.Second

// pollInterval spaces re-checks while waiting on the kernel.
const pollInterval = 10 * time.Millisecond

// setting is one control file write.
type setting struct {
	file  string
	value string
	// optional settings are skipped when the file does not exist (swap
	// accounting off, an older kernel).
	optional bool
}

func writeFile(dir, name, value string) error {
	p := filepath.Join(dir, name)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %q to %s: %w", value, p, err)
	}
	return nil
}

func apply(dir string, ss []setting) error {
	for _, s := range ss {
		err := writeFile(dir, s.file, s.value)
		if err != nil && !(s.optional && errors.Is(err, os.ErrNotExist)) {
			return err
		}
	}
	return nil
}

func readString(dir, name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

func readUint(dir, name string) (uint64, error) {
	s, err := readString(dir, name)
	if err != nil {
		return 0, err
	}
	if s == "max" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse %s: %w", filepath.Join(dir, name), err)
	}
	return n, nil
}

// readKeyValues parses "key value" lines (memory.stat, cpu.stat,
// memory.events, memory.oom_control).
func readKeyValues(dir, name string) (map[string]uint64, error) {
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]uint64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64); err == nil {
			out[k] = n
		}
	}
	return out, sc.Err()
}

func readPids(dir string) ([]int, error) {
	s, err := readString(dir, "cgroup.procs")
	if err != nil {
		return nil, err
	}
	var out []int
	for _, f := range strings.Fields(s) {
		if n, err := strconv.Atoi(f); err == nil {
			out = append(out, n)
		}
	}
	return out, nil
}

func killPids(pids []int) {
	for _, p := range pids {
		_ = unix.Kill(p, unix.SIGKILL)
	}
}

// waitEmpty kills whatever pids reports until it reports nothing, or the
// timeout passes. A cgroup that is gone counts as empty.
func waitEmpty(pids func() ([]int, error), timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ps, err := pids()
		if errors.Is(err, os.ErrNotExist) || (err == nil && len(ps) == 0) {
			return nil
		}
		if err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: %v", ErrNotEmpty, ps)
		}
		killPids(ps)
		time.Sleep(pollInterval)
	}
}

// removeDir removes an empty cgroup directory; the kernel may report it busy
// for a moment after its last process exited.
func removeDir(dir string) error {
	deadline := time.Now().Add(emptyTimeout)
	for {
		err := unix.Rmdir(dir)
		switch {
		case err == nil, errors.Is(err, unix.ENOENT):
			return nil
		case errors.Is(err, unix.EBUSY) && time.Now().Before(deadline):
			time.Sleep(pollInterval)
			continue
		}
		return fmt.Errorf("remove %s: %w", dir, err)
	}
}

// mkdir creates a cgroup directory (and its parents); existing ones are fine.
func mkdir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	return nil
}

// withLock runs fn holding an exclusive flock on dir: executors of different
// tasks change the shared cpuset concurrently.
func withLock(dir string, fn func() error) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("lock %s: %w", dir, err)
	}
	defer unix.Close(fd)
	if err := unix.Flock(fd, unix.LOCK_EX); err != nil {
		return fmt.Errorf("lock %s: %w", dir, err)
	}
	defer unix.Flock(fd, unix.LOCK_UN)
	return fn()
}
