package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/structs"
)

func TestJobCountsSpreadTheRemainder(t *testing.T) {
	got := jobCounts(3, 10)
	if len(got) != 3 || got[0] != 4 || got[1] != 3 || got[2] != 3 {
		t.Fatalf("jobCounts(3, 10) = %v", got)
	}
}

func TestPercentileIsNearestRank(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i))
	}
	if p := percentile(d, 50); p != 50 {
		t.Errorf("p50 = %d", p)
	}
	if p := percentile(d, 99); p != 99 {
		t.Errorf("p99 = %d", p)
	}
	if p := percentile(d[:1], 99); p != 1 {
		t.Errorf("p99 of one = %d", p)
	}
}

func TestParseProcFiles(t *testing.T) {
	m, err := parseStatus(strings.NewReader("Name:\troam\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n"))
	if err != nil || m.RSS != 100<<20 || m.Peak != 200<<20 {
		t.Fatalf("parseStatus: %+v %v", m, err)
	}
	cpu, err := parseStatCPU("4242 (roam agent) S 1 2 3 4 5 6 7 8 9 10 150 50 0 0 20 0")
	if err != nil || cpu != 2*time.Second {
		t.Fatalf("parseStatCPU: %v %v", cpu, err)
	}
}

func TestSimNodesLookLikeRealClients(t *testing.T) {
	a, b := simNodeSpec(1), simNodeSpec(2)
	if a.ComputedClass == "" || a.ComputedClass != a.ComputeClass() {
		t.Fatalf("the computed class must be Node.ComputeClass, as client/ sets it: %q", a.ComputedClass)
	}
	if a.ID == b.ID || a.SecretID == "" || a.Attributes["unique.network.ip-address"] == b.Attributes["unique.network.ip-address"] {
		t.Fatal("simulated nodes need their own ID, secret and address")
	}
	if d := a.Drivers[benchDriver]; d == nil || !d.Detected || !d.Healthy || a.Attributes["driver.raw_exec"] != "1" {
		t.Fatalf("raw_exec must be detected and healthy: %+v", d)
	}
	if a.NodeResources.NodeNetworks[0].Addresses[0].Alias != structs.DefaultHostNetwork {
		t.Fatal("the node's address must be on the default host network")
	}
}

func TestTrackerCountsEachAllocationOnce(t *testing.T) {
	tr := newTracker([]string{"j"}, []int{2})
	t0 := time.Now()
	tr.submitted("j", t0)
	a := &structs.Allocation{ID: "a", JobID: "j"}
	tr.placedAlloc(a, t0.Add(time.Second))
	tr.placedAlloc(a, t0.Add(2*time.Second))
	tr.placedAlloc(&structs.Allocation{ID: "x", JobID: "other"}, t0)
	tr.placedAlloc(&structs.Allocation{ID: "b", JobID: "j"}, t0.Add(3*time.Second))
	tr.runningAllocs([]string{"a", "b", "a"}, t0.Add(4*time.Second))
	select {
	case <-tr.allRunning:
	default:
		t.Fatal("both allocations run")
	}
	p, r := tr.progress(), tr.results()
	if p.placed != 2 || p.foreign != 1 || r.toPlaced != 3*time.Second || r.toRunning != 4*time.Second || r.jobP50 != 3*time.Second {
		t.Fatalf("progress %+v results %+v", p, r)
	}
}

func TestTrackerAwaitsAVersion(t *testing.T) {
	tr := newTracker([]string{"j"}, []int{2})
	t0 := time.Now()
	for i, v := range []uint64{0, 0, 1, 1} {
		tr.placedAlloc(&structs.Allocation{ID: fmt.Sprint("a", i), JobID: "j", Job: &structs.Job{Version: v}}, t0)
	}
	tr.runningAllocs([]string{"a0", "a1"}, t0)
	v1 := tr.awaitVersion(1, 2)
	tr.runningAllocs([]string{"a2"}, t0)
	select {
	case <-v1:
		t.Fatal("version 1 done with one of two running")
	default:
	}
	tr.runningAllocs([]string{"a3", "a2"}, t0)
	select {
	case <-v1:
	default:
		t.Fatal("version 1 not done with both running")
	}
	if n := tr.versionRunning(0); n != 2 {
		t.Fatalf("version 0 running %d", n)
	}
	select {
	case <-tr.awaitVersion(0, 2): // already reached: closed at once
	default:
		t.Fatal("a version already running is not reported done")
	}
}

func TestParseServers(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
		err  bool
	}{
		{in: "1", want: []int{1}},
		{in: "1,3", want: []int{1, 3}},
		{in: "5, 3", want: []int{5, 3}},
		{in: "0", err: true},
		{in: "8", err: true},
		{in: "three", err: true},
	} {
		got, err := parseServers(tc.in)
		if (err != nil) != tc.err || fmt.Sprint(got) != fmt.Sprint(tc.want) && !tc.err {
			t.Errorf("parseServers(%q) = %v, %v", tc.in, got, err)
		}
	}
}

func TestServerSpecsFormOneCluster(t *testing.T) {
	specs, err := serverSpecs(t.TempDir(), 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range specs {
		cfg := serverConfig(s, serverOptions{logLevel: "WARN"})
		if !strings.Contains(cfg, "bootstrap_expect = 3") {
			t.Errorf("%s: no bootstrap_expect = 3:\n%s", s.name, cfg)
		}
		for _, o := range specs {
			if !strings.Contains(cfg, fmt.Sprintf(`"127.0.0.1:%d"`, o.ports[1])) {
				t.Errorf("%s does not join %s:\n%s", s.name, o.name, cfg)
			}
		}
	}
	one, _ := serverSpecs(t.TempDir(), 1)
	if cfg := serverConfig(one[0], serverOptions{}); strings.Contains(cfg, "retry_join") {
		t.Errorf("a single server joins nobody:\n%s", cfg)
	}
}

// TestThreeServersRun runs the whole benchmark, tiny, against three real
// server processes: every allocation placed and running, figures per server.
func TestThreeServersRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds roam and starts three servers")
	}
	var out, errb strings.Builder
	code := run([]string{"-servers", "3", "-nodes", "6", "-jobs", "2", "-allocs", "6", "-settle", "100ms", "-timeout", "2m"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	s := out.String()
	for _, want := range []string{"3 server(s), 6 nodes", "server-side running allocs:   6", "server3_rss_peak_MiB="} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "placements_per_second=") || last == "placements_per_second=0" {
		t.Errorf("last line %q", last)
	}
}
