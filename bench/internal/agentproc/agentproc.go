// Package agentproc runs a server-only roam agent as a child process on
// loopback with free ports, for the benchmark programs that measure a real
// agent (bench/dns, bench/catalog). Only the PID it started is signalled.
package agentproc

import (
	"context"
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

// Agent is a running agent.
type Agent struct {
	cmd                        *exec.Cmd
	HTTPAddr, RPCAddr, DNSAddr string
}

// Start runs bin (built from ./cmd/roam into dir when empty) as a
// single-server agent named name, with extra appended to its config file,
// and waits for its leader.
func Start(ctx context.Context, dir, bin, name, extra string, logger *slog.Logger) (*Agent, error) {
	if bin == "" {
		var err error
		if bin, err = Build(ctx, dir, logger); err != nil {
			return nil, err
		}
	}
	ports, err := FreePorts(4)
	if err != nil {
		return nil, err
	}
	cfg := fmt.Sprintf(`data_dir  = %q
bind_addr = "127.0.0.1"
name      = %q
log_level = "WARN"
ports {
  http = %d
  rpc  = %d
  serf = %d
  dns  = %d
}
server {
  enabled          = true
  bootstrap_expect = 1
}
%s
`, filepath.Join(dir, "data"), name, ports[0], ports[1], ports[2], ports[3], extra)
	cfgPath := filepath.Join(dir, "agent.hcl")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	log, err := os.Create(filepath.Join(dir, "agent.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "agent", "-config", cfgPath)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start roam agent: %w", err)
	}
	a := &Agent{cmd: cmd, HTTPAddr: hostPort(ports[0]), RPCAddr: hostPort(ports[1]), DNSAddr: hostPort(ports[3])}
	if err := waitLeader(ctx, "http://"+a.HTTPAddr+"/v1/status/leader"); err != nil {
		a.Stop()
		return nil, err
	}
	return a, nil
}

// Stop ends the agent: SIGTERM, then SIGKILL after 10 s.
func (a *Agent) Stop() { StopCmd(a.cmd) }

// Pid is the agent's process ID.
func (a *Agent) Pid() int { return a.cmd.Process.Pid }

// StopCmd stops a child the benchmark started.
func StopCmd(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

func hostPort(p int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p)) }

// Build compiles ./cmd/roam of the module the program runs in.
func Build(ctx context.Context, dir string, logger *slog.Logger) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the roam module: run from the repository or pass -roam")
	}
	bin := filepath.Join(dir, "roam")
	logger.Info("building roam")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/roam")
	build.Dir = filepath.Dir(gomod)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/roam: %w", err)
	}
	return bin, nil
}

// FreePorts returns n loopback TCP ports free at the time of the call.
func FreePorts(n int) ([]int, error) {
	var out []int
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

func waitLeader(ctx context.Context, url string) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && len(strings.Trim(string(b), "\"\n")) > 0 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return errors.New("no leader within 60s")
}
