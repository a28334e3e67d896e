package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// serverProc is one roam server under test, a child process of the
// benchmark. Only its PID is ever signalled.
type serverProc struct {
	cmd      *exec.Cmd
	dir      string // its own dir: config, data dir, log
	logPath  string
	rpcAddr  string
	httpAddr string
	done     chan struct{}
	logger   *slog.Logger
}

// serverOptions says how to start the servers.
type serverOptions struct {
	binary   string // prebuilt roam binary (run builds one when -roam is empty)
	debug    bool   // enable_debug (pprof) in the agent config
	logLevel string // the server's log_level
}

// serverSpec is what differs between the servers of one set.
type serverSpec struct {
	name   string
	dir    string // its own dir: config, data dir, log
	ports  []int  // http, rpc, serf
	expect int    // bootstrap_expect: the size of the set
	join   []string
}

// serverConfig is a server-only agent on loopback with the server's
// defaults. The Raft log lives in bbolt under the data dir and is fsynced
// (no dev mode). With more than one server, each one's retry_join lists
// every server's RPC address (its own included, which it ignores), so they
// form one cluster exactly as docs/cluster.md tells operators to.
// enable_debug is only written when asked for.
func serverConfig(spec serverSpec, opts serverOptions) string {
	debug := ""
	if opts.debug {
		debug = "enable_debug = true\n"
	}
	join := ""
	if len(spec.join) > 0 {
		q := make([]string, len(spec.join))
		for i, a := range spec.join {
			q[i] = strconv.Quote(a)
		}
		join = fmt.Sprintf("  server_join {\n    retry_join = [%s]\n  }\n", strings.Join(q, ", "))
	}
	return fmt.Sprintf(`data_dir  = %q
bind_addr = "127.0.0.1"
name      = %q
log_level = %q
%s
ports {
  http = %d
  rpc  = %d
  serf = %d
}

server {
  enabled          = true
  bootstrap_expect = %d
%s}
`, filepath.Join(spec.dir, "data"), spec.name, opts.logLevel, debug, spec.ports[0], spec.ports[1], spec.ports[2], spec.expect, join)
}

// newServerProc writes spec's config and starts the agent; it does not wait
// for a leader (the servers of a set only elect one once all have started).
func newServerProc(spec serverSpec, opts serverOptions, logger *slog.Logger) (*serverProc, error) {
	p := &serverProc{dir: spec.dir, logPath: filepath.Join(spec.dir, "server.log"), done: make(chan struct{}), logger: logger}
	p.httpAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(spec.ports[0]))
	p.rpcAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(spec.ports[1]))
	if err := os.MkdirAll(spec.dir, 0o755); err != nil {
		return nil, fmt.Errorf("create server dir: %w", err)
	}
	cfgPath := filepath.Join(spec.dir, "server.hcl")
	if err := os.WriteFile(cfgPath, []byte(serverConfig(spec, opts)), 0o644); err != nil {
		return nil, fmt.Errorf("write agent config: %w", err)
	}
	if err := p.launch(opts.binary, cfgPath); err != nil {
		return nil, err
	}
	return p, nil
}

// launch starts `roam agent -config` with its output in the log file.
func (p *serverProc) launch(bin, cfgPath string) error {
	logf, err := os.Create(p.logPath)
	if err != nil {
		return fmt.Errorf("create server log: %w", err)
	}
	p.cmd = exec.Command(bin, "agent", "-config", cfgPath)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", bin, err)
	}
	go func() {
		_ = p.cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	p.logger.Info("server started", "pid", p.cmd.Process.Pid, "rpc", p.rpcAddr, "http", p.httpAddr, "dir", p.dir)
	return nil
}

// waitLeader polls /v1/status/leader until it names a leader.
func (p *serverProc) waitLeader(ctx context.Context, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	url := "http://" + p.httpAddr + "/v1/status/leader"
	for {
		if leader, err := getLeader(ctx, url); err == nil && leader != "" {
			p.logger.Info("server has a leader", "leader", leader)
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("server exited before electing a leader:\n%s", p.logTail(20))
		case <-ctx.Done():
			return fmt.Errorf("wait for a leader: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func getLeader(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d", resp.StatusCode)
	}
	var leader string
	if err := json.NewDecoder(resp.Body).Decode(&leader); err != nil {
		return "", fmt.Errorf("decode leader: %w", err)
	}
	return leader, nil
}

// exited reports whether the server process is gone.
func (p *serverProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// memory is the server's resident memory from /proc/<pid>/status.
type memory struct {
	RSS  int64 // VmRSS, bytes
	Peak int64 // VmHWM, bytes: the highest RSS since the process started
}

func (p *serverProc) memory() (memory, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return memory{}, fmt.Errorf("read server memory: %w", err)
	}
	defer f.Close()
	return parseStatus(f)
}

// parseStatus reads VmRSS and VmHWM (reported in kB) from a status file.
func parseStatus(r io.Reader) (memory, error) {
	var m memory
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		kb, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		switch f[0] {
		case "VmRSS:":
			m.RSS = kb << 10
		case "VmHWM:":
			m.Peak = kb << 10
		}
	}
	if m.RSS == 0 || m.Peak == 0 {
		return m, errors.New("no VmRSS/VmHWM in /proc status")
	}
	return m, sc.Err()
}

// serverUsage is the server's memory and the CPU time it used so far.
type serverUsage struct {
	mem memory
	cpu time.Duration
}

func (p *serverProc) usage() (serverUsage, error) {
	mem, err := p.memory()
	if err != nil {
		return serverUsage{}, err
	}
	cpu, err := p.cpuTime()
	return serverUsage{mem: mem, cpu: cpu}, err
}

// cpuTime is the CPU time the server process used so far (user + system),
// from /proc/<pid>/stat.
func (p *serverProc) cpuTime() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("read server cpu time: %w", err)
	}
	return parseStatCPU(string(b))
}

// parseStatCPU returns utime+stime of a /proc/<pid>/stat line. The clock
// tick is 100 Hz on every Linux configuration Go supports.
func parseStatCPU(stat string) (time.Duration, error) {
	// The command name (field 2) may contain spaces; fields after it are fixed.
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("malformed /proc stat")
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("parse /proc stat: %w", err)
	}
	return time.Duration(ut+st) * 10 * time.Millisecond, nil
}

// terminate stops the server: SIGTERM, SIGKILL after 10s. Only this
// child's PID is signalled.
func (p *serverProc) terminate() {
	if p.cmd != nil && p.cmd.Process != nil && !p.exited() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
}

// logTail returns the last n lines of the server log.
func (p *serverProc) logTail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
