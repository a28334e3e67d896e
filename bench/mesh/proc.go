package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/roam-sh/roam/mesh/proxy"
	"github.com/roam-sh/roam/mesh/proxy/sidecar"
)

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's CPU times (100 on
// every Linux architecture Go supports).
const clockTicks = 100

// proxyProc is one `roam connect proxy` child process.
type proxyProc struct {
	name   string
	cmd    *exec.Cmd
	exited chan struct{} // closed once Wait returned
}

// startProxy writes the sidecar's file as the client's connect_proxy hook
// does and runs `roam connect proxy` on it, in this (the host's) network
// namespace; it returns once the proxy has opened its listeners.
func startProxy(ctx context.Context, dir, bin string, f *sidecar.File) (*proxyProc, error) {
	cfg := filepath.Join(dir, f.Service+".json")
	if err := f.Write(cfg); err != nil {
		return nil, err
	}
	ready := filepath.Join(dir, f.Service+".ready")
	logf, err := os.Create(filepath.Join(dir, f.Service+".log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(bin, "connect", "proxy", "-config", cfg, "-ready", ready, "-drain", "1s")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start proxy %s: %w", f.Service, err)
	}
	p := &proxyProc{name: f.Service, cmd: cmd, exited: make(chan struct{})}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); close(p.exited) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(ready); err == nil {
			return p, nil
		}
		select {
		case err := <-exited:
			return nil, fmt.Errorf("proxy %s exited before listening (%v); see %s", f.Service, err, logf.Name())
		case <-ctx.Done():
			p.stop()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("proxy %s not listening after 30s; see %s", f.Service, logf.Name())
		}
	}
}

// stop signals the PID this program started, and only it.
func (p *proxyProc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// cpuSeconds is the process's user + system time so far.
func (p *proxyProc) cpuSeconds() (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which sits in parentheses and may
	// hold spaces: state is field 3, utime 14, stime 15.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("unexpected /proc stat format")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return float64(ut+st) / clockTicks, nil
}

// cost is what a proxy spent: CPU-seconds, read and write system calls
// (syscr + syscw of /proc/<pid>/io: read(2), write(2) and their kin, on
// sockets too; epoll and futex calls are not counted) and context
// switches of all its threads.
type cost struct{ cpu, syscalls, switches float64 }

func (c cost) add(o cost) cost {
	return cost{c.cpu + o.cpu, c.syscalls + o.syscalls, c.switches + o.switches}
}
func (c cost) sub(o cost) cost {
	return cost{c.cpu - o.cpu, c.syscalls - o.syscalls, c.switches - o.switches}
}
func (c cost) per(n int64) cost {
	f := float64(n)
	return cost{c.cpu / f, c.syscalls / f, c.switches / f}
}

func (p *proxyProc) cost() (cost, error) {
	cpu, err := p.cpuSeconds()
	if err != nil {
		return cost{}, err
	}
	c := cost{cpu: cpu}
	pid := p.cmd.Process.Pid
	io := map[string]*float64{"syscr": new(float64), "syscw": new(float64)}
	if err := readFields(fmt.Sprintf("/proc/%d/io", pid), io); err != nil {
		return cost{}, err
	}
	c.syscalls = *io["syscr"] + *io["syscw"]
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	if err != nil {
		return cost{}, err
	}
	for _, t := range tasks {
		sw := map[string]*float64{"voluntary_ctxt_switches": new(float64), "nonvoluntary_ctxt_switches": new(float64)}
		if err := readFields(t, sw); err != nil {
			continue // the thread ended meanwhile
		}
		c.switches += *sw["voluntary_ctxt_switches"] + *sw["nonvoluntary_ctxt_switches"]
	}
	return c, nil
}

// mem is a proxy's memory in MiB from /proc/<pid>/status and
// smaps_rollup.
type mem struct {
	rss, peak float64 // VmRSS, VmHWM
	// anon is RssAnon, the process's private memory: what one more
	// proxied allocation costs. file is RssFile, the roam binary's pages
	// it has mapped, held once in the page cache for every proxy and the
	// agent on the node.
	anon, file float64
	// pss is the proportional set size: RSS with each shared page divided
	// among the processes mapping it.
	pss float64
}

func (p *proxyProc) memory() (mem, error) {
	var m mem
	if err := readKB(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid),
		map[string]*float64{"VmRSS": &m.rss, "VmHWM": &m.peak, "RssAnon": &m.anon, "RssFile": &m.file}); err != nil {
		return m, err
	}
	err := readKB(fmt.Sprintf("/proc/%d/smaps_rollup", p.cmd.Process.Pid), map[string]*float64{"Pss": &m.pss})
	return m, err
}

// readKB reads "Key: N kB" lines of a /proc file into fields, in MiB.
func readKB(path string, fields map[string]*float64) error {
	if err := readFields(path, fields); err != nil {
		return err
	}
	for _, v := range fields {
		*v /= 1024
	}
	return nil
}

// readFields reads "Key: N" (or "Key: N kB") lines of a /proc file into
// fields.
func readFields(path string, fields map[string]*float64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		dst := fields[k]
		if !ok || dst == nil {
			continue
		}
		n, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
		if err != nil {
			return err
		}
		*dst = n
	}
	return sc.Err()
}

// proxies is the pair on the path: the caller's (upstream) and the
// destination's.
type proxies []*proxyProc

func (ps proxies) cost() (cost, error) {
	var sum cost
	for _, p := range ps {
		c, err := p.cost()
		if err != nil {
			return cost{}, err
		}
		sum = sum.add(c)
	}
	return sum, nil
}

func (ps proxies) stop() {
	for _, p := range ps {
		p.stop()
	}
}

// sidecarFiles are the two proxies' files: the caller "bench-client" with
// one upstream bench-server on upstreamPort, and bench-server in front of
// the application.
func sidecarFiles(agentAddr, appAddr string, clientPublic, serverPublic, upstreamPort int) (client, server *sidecar.File) {
	client = &sidecar.File{
		Service: "bench-client", Namespace: "default", PublicPort: clientPublic,
		// Nothing calls the client's own service in this benchmark.
		LocalAddr: "127.0.0.1:1",
		Upstreams: []proxy.Upstream{{DestinationName: "bench-server", LocalBindAddress: "127.0.0.1", LocalBindPort: upstreamPort}},
		AgentAddr: agentAddr,
	}
	server = &sidecar.File{
		Service: "bench-server", Namespace: "default", PublicPort: serverPublic,
		LocalAddr: appAddr, AgentAddr: agentAddr,
	}
	return client, server
}
