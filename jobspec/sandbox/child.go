package sandbox

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"syscall"

	"github.com/roam-sh/roam/jobspec"
	"github.com/roam-sh/roam/structs"
)

// SubcommandArgs are the hidden arguments of the roam binary that run a
// child: cmd/roam must call Main() when os.Args[1:] starts with them.
var SubcommandArgs = []string{"internal", "parse"}

// Environment variables carrying the limits to the child; it applies them to
// itself before it reads its input, so no byte of the job file is evaluated
// without them.
const (
	envMemory = "ROAM_PARSE_MAX_MEMORY"
	envCPU    = "ROAM_PARSE_MAX_CPU_SECONDS"
)

// request is what the parent writes on the child's stdin.
type request struct {
	Filename string
	Src      []byte
	Opts     jobspec.ParseOptions
}

// response is what the child writes on its stdout.
type response struct {
	Job   *structs.Job   `json:",omitempty"`
	Error *jobspec.Error `json:",omitempty"`
	Fail  string         `json:",omitempty"`
}

// Main runs a child: apply the limits, read one request from stdin, write
// one response to stdout. It returns the process exit code.
func Main() int {
	if err := applyLimits(); err != nil {
		fmt.Fprintln(os.Stderr, "roam internal parse:", err)
		return 2
	}
	var req request
	if err := json.NewDecoder(io.LimitReader(os.Stdin, maxRequest)).Decode(&req); err != nil {
		return writeResponse(response{Fail: fmt.Sprintf("read request: %v", err)})
	}
	job, err := jobspec.Parse(req.Filename, req.Src, req.Opts)
	if err != nil {
		perr, ok := err.(*jobspec.Error)
		if !ok {
			return writeResponse(response{Fail: err.Error()})
		}
		return writeResponse(response{Error: perr})
	}
	return writeResponse(response{Job: job})
}

func writeResponse(r response) int {
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		fmt.Fprintln(os.Stderr, "roam internal parse: write response:", err)
		return 1
	}
	return 0
}

// maxRequest bounds what the child reads: the parent never sends more than
// its own input cap, so this only guards a child started by hand.
const maxRequest = 1 << 30

// applyLimits lowers the process's own limits to those the parent passed.
// RLIMIT_DATA makes an allocation beyond the budget fail (the Go runtime then
// dies with "out of memory"); the soft Go memory limit at 3/4 of it makes
// the collector reclaim garbage before that. RLIMIT_CPU sends SIGXCPU at the
// soft limit and SIGKILL one second later.
func applyLimits() error {
	if mem, ok := envUint(envMemory); ok && mem > 0 {
		if err := setrlimit(rlimitData, mem, mem); err != nil {
			return fmt.Errorf("limit memory: %w", err)
		}
		debug.SetMemoryLimit(int64(mem / 4 * 3))
	}
	if cpu, ok := envUint(envCPU); ok && cpu > 0 {
		if err := setrlimit(syscall.RLIMIT_CPU, cpu, cpu+1); err != nil {
			return fmt.Errorf("limit cpu: %w", err)
		}
	}
	return nil
}

// setrlimit lowers a limit, never raising the hard limit above what the
// process already has (which would fail for an unprivileged user).
func setrlimit(resource int, soft, hard uint64) error {
	var cur syscall.Rlimit
	if err := syscall.Getrlimit(resource, &cur); err != nil {
		return err
	}
	hard = min(hard, cur.Max)
	soft = min(soft, hard)
	return syscall.Setrlimit(resource, &syscall.Rlimit{Cur: soft, Max: hard})
}

func envUint(name string) (uint64, bool) {
	v, err := strconv.ParseUint(os.Getenv(name), 10, 64)
	return v, err == nil
}

// rlimitData is RLIMIT_DATA. Since Linux 4.7 it counts every private
// writable mapping, which is the memory the Go heap commits; RLIMIT_AS would
// also count the large PROT_NONE ranges the Go runtime reserves at start
// (several hundred megabytes of address space), making the budget depend on
// the runtime's layout rather than on the job file.
const rlimitData = syscall.RLIMIT_DATA
