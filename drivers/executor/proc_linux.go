package executor

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// procStat is the part of /proc/<pid>/stat the executor needs.
type procStat struct {
	state     byte
	startTime uint64 // clock ticks after boot; with the PID, a process identity
}

func readProcStat(pid int) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	// The command name (field 2) is in parentheses and may hold spaces, so
	// fields are counted from the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+1:])
	// After ')': state is field 3 of the file, starttime field 22.
	if len(f) < 20 {
		return procStat{}, fmt.Errorf("parse /proc/%d/stat: %d fields", pid, len(f))
	}
	start, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("parse /proc/%d/stat starttime: %w", pid, err)
	}
	return procStat{state: f[0][0], startTime: start}, nil
}

// processStartTime returns a process's start time in clock ticks after boot.
func processStartTime(pid int) (uint64, error) {
	st, err := readProcStat(pid)
	return st.startTime, err
}

// alive reports whether pid is a live (not zombie) process that started at
// start, which rules out a recycled PID. A start of 0 proves nothing (it is
// what a record without one decodes to, and what a forged record says), so
// such a process is never taken for the recorded one: a handle whose
// process cannot be verified is treated as gone, and nothing is signalled.
func alive(pid int, start uint64) bool {
	if pid <= 0 || start == 0 {
		return false
	}
	st, err := readProcStat(pid)
	if err != nil {
		return false
	}
	if st.state == 'Z' || st.state == 'X' {
		return false
	}
	return st.startTime == start
}

// ProcessStartTime returns a process's start time in clock ticks after boot:
// with the PID, an identity that survives PID reuse. Other long-lived helper
// processes (docker's log collector) record it as the executor does.
func ProcessStartTime(pid int) (uint64, error) { return processStartTime(pid) }

// ProcessAlive reports whether pid is a live process that started at start.
func ProcessAlive(pid int, start uint64) bool { return alive(pid, start) }
