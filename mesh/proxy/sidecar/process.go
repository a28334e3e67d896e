package sidecar

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Process settings of the proxy. It runs as the roam binary, once per
// proxied allocation, so what it holds is multiplied by the allocations
// of a node; its memory is kept near what the data path needs.
const (
	// proxyGCPercent collects more often than Go's 100: the proxy's heap
	// is mostly short-lived frames and buffers, so a smaller GOGC trades
	// a little CPU for a heap that does not double between collections
	// (about 1.5 MiB less private memory under bench/mesh's load). No
	// soft memory limit is set: one of 12 MiB made the collector run
	// through bulk transfers and cut TCP throughput by half or more.
	proxyGCPercent = 50
)

// tuneRuntime applies the proxy's GOGC unless the operator set GOGC in
// the proxy's environment, which wins (as does GOMEMLIMIT, left to Go).
func tuneRuntime() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(proxyGCPercent)
	}
}

// trimStartup gives back what the start-up of the whole roam binary left
// behind and the proxy does not use: the heap that package initialisers
// of the agent, CLI and drivers allocated and dropped, and the binary's
// read-only pages they touched (the kernel maps a file's pages into a
// process as it touches them, so they count in its RSS although the
// node's page cache holds them once for every roam process). The pages
// the proxy uses afterwards are mapped again on their first touch, from
// the page cache.
func trimStartup() error {
	debug.FreeOSMemory()
	return dropReadOnlyMappings("/proc/self/maps")
}

// dropReadOnlyMappings unmaps (MADV_DONTNEED) the resident pages of the
// process's own executable that are mapped read-only: code and read-only
// data. Those pages are always the file's, so the next access reads them
// back unchanged; writable mappings (data, bss) are left alone, as
// dropping them would lose what the process wrote.
func dropReadOnlyMappings(mapsPath string) error {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return fmt.Errorf("find own executable: %w", err)
	}
	f, err := os.Open(mapsPath)
	if err != nil {
		return err
	}
	defer f.Close()
	var errs []error
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		start, end, ok := readOnlyMappingOf(sc.Text(), exe)
		if !ok {
			continue
		}
		if _, _, e := unix.Syscall(unix.SYS_MADVISE, start, end-start, unix.MADV_DONTNEED); e != 0 {
			errs = append(errs, fmt.Errorf("madvise %x-%x: %w", start, end, e))
		}
	}
	return errors.Join(append(errs, sc.Err())...)
}

// readOnlyMappingOf parses one line of /proc/<pid>/maps ("start-end perms
// offset dev inode path") and reports the range when it maps exe without
// write permission.
func readOnlyMappingOf(line, exe string) (start, end uintptr, ok bool) {
	f := strings.Fields(line)
	if len(f) < 6 || strings.Join(f[5:], " ") != exe || strings.Contains(f[1], "w") {
		return 0, 0, false
	}
	lo, hi, found := strings.Cut(f[0], "-")
	if !found {
		return 0, 0, false
	}
	s, err1 := strconv.ParseUint(lo, 16, 64)
	e, err2 := strconv.ParseUint(hi, 16, 64)
	if err1 != nil || err2 != nil || e <= s {
		return 0, 0, false
	}
	return uintptr(s), uintptr(e), true
}

// sysmonAwakeSetting keeps the Go runtime's monitor thread (sysmon) out
// of its deep sleep. When every P of the proxy is idle, sysmon parks on a
// futex, and the next system call of any goroutine wakes it again; at
// 1,000 requests per second that is one or more thread wake-ups per
// request, and on the virtual machines this was measured on (where a
// context switch is dear) sysmon took 28% of the proxy's CPU
// (docs/mesh.md, "CPU per request"). With schedtrace set sysmon never
// parks: it backs off to one wake-up every 10 ms instead. The value is
// the largest interval (24.8 days): the trace line is printed only when
// the host's monotonic clock passes it, at most once per interval.
const sysmonAwakeSetting = "schedtrace=2147483647"

// KeepSysmonAwake re-executes the running binary (same process id, same
// arguments) with sysmonAwakeSetting added to GODEBUG, unless GODEBUG
// already names schedtrace: an operator who sets it, schedtrace=0
// included, chooses sysmon's behaviour. It returns only when nothing was
// done or the exec failed (the proxy then runs with Go's default).
func KeepSysmonAwake() error {
	env, ok := withSysmonAwake(os.Environ())
	if !ok {
		return nil
	}
	// /proc/self/exe still names the running image after the file on
	// disk was replaced by an upgrade.
	if err := unix.Exec("/proc/self/exe", os.Args, env); err != nil {
		return fmt.Errorf("re-execute the proxy with %s: %w", sysmonAwakeSetting, err)
	}
	return nil
}

// withSysmonAwake returns env with sysmonAwakeSetting added to GODEBUG,
// and false when GODEBUG already sets schedtrace.
func withSysmonAwake(env []string) ([]string, bool) {
	out := make([]string, 0, len(env)+1)
	found := false
	for _, kv := range env {
		v, isGodebug := strings.CutPrefix(kv, "GODEBUG=")
		if !isGodebug {
			out = append(out, kv)
			continue
		}
		for _, f := range strings.Split(v, ",") {
			if strings.HasPrefix(strings.TrimSpace(f), "schedtrace=") {
				return env, false
			}
		}
		found = true
		if v == "" {
			out = append(out, "GODEBUG="+sysmonAwakeSetting)
		} else {
			out = append(out, "GODEBUG="+v+","+sysmonAwakeSetting)
		}
	}
	if !found {
		out = append(out, "GODEBUG="+sysmonAwakeSetting)
	}
	return out, true
}
