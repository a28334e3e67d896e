package proxy

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkNewConnection is an application connection per request
// through two proxies (what bench/mesh's new-connection loop does, in one
// process, for profiling).
func BenchmarkNewConnection(b *testing.B) {
	m := newTestMesh(b)
	c0 := readCosts(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c, err := net.Dial("tcp", m.web.UpstreamAddr(0).String())
		if err != nil {
			b.Fatal(err)
		}
		if got, err := roundTrip(c, "ping"); err != nil || got != "ping" {
			b.Fatal(fmt.Errorf("%q %v", got, err))
		}
		c.Close()
	}
	b.StopTimer()
	reportCosts(b, c0)
}

// BenchmarkKeepAlive is requests over one application connection through
// two proxies.
func BenchmarkKeepAlive(b *testing.B) {
	m := newTestMesh(b)
	c, err := net.Dial("tcp", m.web.UpstreamAddr(0).String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	c0 := readCosts(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if got, err := roundTrip(c, "ping"); err != nil || got != "ping" {
			b.Fatal(fmt.Errorf("%q %v", got, err))
		}
	}
	b.StopTimer()
	reportCosts(b, c0)
}

// costs are the process's read and write system calls (/proc/self/io)
// and its threads' context switches: what a message costs on a virtual
// machine where each is an exit to the hypervisor, counted rather than
// timed, so that figures from a loaded machine still compare. They
// include the benchmark's client and application, which are the same in
// an A/B comparison.
type costs struct{ syscalls, switches float64 }

func readCosts(b *testing.B) costs {
	var c costs
	io := readProcFields(b, "/proc/self/io", "syscr", "syscw")
	c.syscalls = io["syscr"] + io["syscw"]
	tasks, _ := filepath.Glob("/proc/self/task/*/status")
	for _, t := range tasks {
		sw := readProcFields(b, t, "voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")
		c.switches += sw["voluntary_ctxt_switches"] + sw["nonvoluntary_ctxt_switches"]
	}
	return c
}

func reportCosts(b *testing.B, before costs) {
	after := readCosts(b)
	b.ReportMetric((after.syscalls-before.syscalls)/float64(b.N), "syscalls/op")
	b.ReportMetric((after.switches-before.switches)/float64(b.N), "ctxsw/op")
}

func readProcFields(b *testing.B, path string, keys ...string) map[string]float64 {
	out := map[string]float64{}
	f, err := os.Open(path)
	if err != nil {
		return out // another OS, or a thread that ended
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		for _, want := range keys {
			if k == want {
				out[k], _ = strconv.ParseFloat(strings.TrimSpace(v), 64)
			}
		}
	}
	return out
}
