package cgroups

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/roam-sh/roam/internal/cpuset"
	"github.com/roam-sh/roam/testutil"
)

// These tests create real cgroups on the host, under a parent unique to the
// test, and check that nothing of it is left afterwards.

func hostFor(t *testing.T, v Version) *Host {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("cgroups need root")
	}
	h, err := Detect()
	if err != nil {
		t.Skipf("no cgroups: %v", err)
	}
	if v == V2 && h.version == V1 && h.unified != "" {
		// A hybrid host's unified hierarchy has no controllers, but its
		// directories, cgroup.procs and cgroup.kill are real v2.
		return &Host{version: V2, unified: h.unified}
	}
	if h.version != v {
		t.Skipf("host runs cgroup v%s", h.version)
	}
	if err := h.Check(); err != nil {
		t.Skip(err)
	}
	return h
}

// uniqueParent returns a parent name for the test and removes it afterwards,
// failing the test if any of its directories survive.
func uniqueParent(t *testing.T, h *Host) string {
	t.Helper()
	parent := fmt.Sprintf("roam-test-%d", time.Now().UnixNano())
	t.Cleanup(func() {
		if err := h.RemoveParent(parent); err != nil {
			t.Errorf("remove parent: %v", err)
		}
		mounts := uniqueMounts(h.v1)
		if h.version == V2 {
			mounts = []string{h.unified}
		}
		for _, m := range mounts {
			if _, err := os.Stat(filepath.Join(m, parent)); !os.IsNotExist(err) {
				t.Errorf("%s left behind (%v)", filepath.Join(m, parent), err)
			}
		}
	})
	return parent
}

// startWaiting starts a shell that runs script once a line arrives on its
// stdin, so the test can move it into a cgroup first.
func startWaiting(t *testing.T, script string) (*exec.Cmd, io.WriteCloser) {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", "read go; "+script)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
	})
	return cmd, in
}

func readFile(t *testing.T, dir, name string) string {
	t.Helper()
	s, err := readString(dir, name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestV1CreateLimitStatsRemove(t *testing.T) {
	h := hostFor(t, V1)
	parent := uniqueParent(t, h)
	cg, err := h.Create(Ref{Parent: parent, Name: "a1.web"}, Limits{CPUShares: 500, MemoryMaxBytes: 128 << 20, MemoryLowBytes: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	v1 := cg.(*v1Cgroup)
	if got := readFile(t, v1.dirs["cpu"], "cpu.shares"); got != "500" {
		t.Errorf("cpu.shares %s", got)
	}
	if got := readFile(t, v1.dirs["memory"], "memory.limit_in_bytes"); got != "134217728" {
		t.Errorf("memory.limit_in_bytes %s", got)
	}
	if got := readFile(t, v1.dirs["memory"], "memory.soft_limit_in_bytes"); got != "67108864" {
		t.Errorf("memory.soft_limit_in_bytes %s", got)
	}
	if v1.dirs["cpuset"] != filepath.Join(h.v1["cpuset"], parent, "shared") {
		t.Errorf("cpuset dir %s", v1.dirs["cpuset"])
	}

	cmd, in := startWaiting(t, "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; exec sleep 60")
	if err := cg.AddProc(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(in, "go")
	if pids, err := cg.Pids(); err != nil || !slices.Contains(pids, cmd.Process.Pid) {
		t.Fatalf("pids %v %v", pids, err)
	}
	testutil.WaitFor(t, 10*time.Second, func() error {
		st, err := cg.Stats()
		if err != nil {
			return err
		}
		if st.MemoryUsage == 0 || st.CPUUsage == 0 {
			return fmt.Errorf("stats %+v", st)
		}
		return nil
	})
	if oom, err := cg.OOMKilled(); err != nil || oom {
		t.Fatalf("oom %v %v", oom, err)
	}
	if err := cg.Remove(); err != nil {
		t.Fatal(err)
	}
	for _, d := range v1.ownDirs() {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s still there", d)
		}
	}
	if err := cg.Remove(); err != nil {
		t.Fatalf("second remove: %v", err)
	}
}

func TestV1OOMKill(t *testing.T) {
	h := hostFor(t, V1)
	parent := uniqueParent(t, h)
	cg, err := h.Create(Ref{Parent: parent, Name: "a1.oom"}, Limits{MemoryMaxBytes: 32 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cg.Remove() })
	cmd, in := startWaiting(t, "head -c 200M /dev/zero | tail")
	if err := cg.AddProc(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(in, "go")
	_ = cmd.Wait()
	if oom, err := cg.OOMKilled(); err != nil || !oom {
		t.Fatalf("oom killed %v %v (exit %v)", oom, err, cmd.ProcessState)
	}
	if err := cg.Remove(); err != nil {
		t.Fatal(err)
	}
}

// TestReservedCoresAreExclusive: a task with reserved cores gets exactly
// them, and the shared cpuset loses them until the task is gone.
func TestReservedCoresAreExclusive(t *testing.T) {
	h := hostFor(t, V1)
	all, err := cpuset.Parse(readFile(t, h.v1["cpuset"], "cpuset.cpus"))
	if err != nil || len(all) < 2 {
		t.Skipf("need two cores, have %v %v", all, err)
	}
	parent := uniqueParent(t, h)
	shared, err := h.Create(Ref{Parent: parent, Name: "a1.shared"}, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = shared.Remove() })
	sharedDir := shared.(*v1Cgroup).dirs["cpuset"]
	if got := readFile(t, sharedDir, "cpuset.cpus"); got != cpuset.Format(all) {
		t.Fatalf("shared cpus %s, want %s", got, cpuset.Format(all))
	}
	last := all[len(all)-1]
	res, err := h.Create(Ref{Parent: parent, Name: "a2.pinned"}, Limits{Cores: []uint16{last}})
	if err != nil {
		t.Fatal(err)
	}
	resDir := res.(*v1Cgroup).dirs["cpuset"]
	if !res.Ref().Reserved || resDir != filepath.Join(h.v1["cpuset"], parent, "reserved", "a2.pinned") {
		t.Fatalf("reserved ref %+v dir %s", res.Ref(), resDir)
	}
	if got := readFile(t, resDir, "cpuset.cpus"); got != fmt.Sprint(last) {
		t.Fatalf("reserved cpus %s", got)
	}
	want := cpuset.Format(slices.DeleteFunc(slices.Clone(all), func(c uint16) bool { return c == last }))
	if got := readFile(t, sharedDir, "cpuset.cpus"); got != want {
		t.Fatalf("shared cpus with a reservation %s, want %s", got, want)
	}
	if err := res.Remove(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, sharedDir, "cpuset.cpus"); got != cpuset.Format(all) {
		t.Fatalf("shared cpus after release %s", got)
	}
	if _, err := os.Stat(resDir); !os.IsNotExist(err) {
		t.Fatalf("reserved cpuset left: %v", err)
	}
}

// TestV2Lifecycle runs on the unified hierarchy (real v2, or the empty one of
// a hybrid host): create, join, kill, remove.
func TestV2Lifecycle(t *testing.T) {
	h := hostFor(t, V2)
	parent := uniqueParent(t, h)
	cg, err := h.Create(Ref{Parent: parent, Name: "a1.web"}, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	dir := cg.Paths()[0]
	if dir != filepath.Join(h.unified, parent, "shared", "a1.web") {
		t.Fatalf("dir %s", dir)
	}
	cmd, in := startWaiting(t, "exec sleep 60")
	if err := cg.AddProc(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(in, "go")
	if pids, _ := cg.Pids(); !slices.Contains(pids, cmd.Process.Pid) {
		t.Fatalf("pids %v", pids)
	}
	if err := cg.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if err := cg.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("%s left: %v", dir, err)
	}
}
