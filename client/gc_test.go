package client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// mountsUnder lists the mount points below dir.
func mountsUnder(dir string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) > 4 && strings.HasPrefix(fields[4], dir+"/") {
			out = append(out, fields[4])
		}
	}
	return out
}

func waitCollected(t *testing.T, c *Client, id string) {
	t.Helper()
	dir := filepath.Join(c.cfg.AllocDir, id)
	testutil.WaitFor(t, 20*time.Second, func() error {
		if _, err := c.GetAllocRunner(id); err == nil {
			return fmt.Errorf("alloc %s still has a runner", id)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			return fmt.Errorf("alloc dir %s remains: %v", dir, err)
		}
		return nil
	})
	if m := mountsUnder(dir); len(m) > 0 {
		t.Fatalf("mounts left under a collected alloc: %v", m)
	}
}

func TestGCMaxAllocsCollectsOldestTerminal(t *testing.T) {
	srv := newFakeServer()
	cfg := testConfig(t, srv, t.TempDir())
	cfg.GCMaxAllocs, cfg.GCInterval = 2, time.Hour // only the add trigger runs it
	c := runClient(t, cfg)
	first := testAlloc(c.NodeID(), structs.JobTypeBatch, `echo first`)
	srv.upsertAlloc(first)
	waitReported(t, srv, first.ID, structs.AllocClientStatusComplete)
	second := testAlloc(c.NodeID(), structs.JobTypeBatch, `echo second`)
	srv.upsertAlloc(second)
	waitReported(t, srv, second.ID, structs.AllocClientStatusComplete)

	third := testAlloc(c.NodeID(), structs.JobTypeService, `exec sleep 300`)
	srv.upsertAlloc(third)
	waitCollected(t, c, first.ID)
	waitReported(t, srv, third.ID, structs.AllocClientStatusRunning)
	for _, id := range []string{second.ID, third.ID} {
		if _, err := c.GetAllocRunner(id); err != nil {
			t.Fatalf("alloc %s collected too: %v", id, err)
		}
	}
	if err := c.CollectAlloc(third.ID); !errors.Is(err, ErrNotTerminal) {
		t.Fatalf("collecting a running alloc: %v", err)
	}
	// The servers still list the collected (terminal) allocation, with a
	// newer index: it must not come back.
	first.ClientStatus = structs.AllocClientStatusComplete
	srv.upsertAlloc(first)
	testutil.WaitFor(t, 5*time.Second, func() error {
		if len(c.knownAllocs()) != 2 {
			return fmt.Errorf("allocs %v", c.knownAllocs())
		}
		return nil
	})
}

func TestGCOnDemand(t *testing.T) {
	srv := newFakeServer()
	cfg := testConfig(t, srv, t.TempDir())
	cfg.GCInterval = time.Hour
	c := runClient(t, cfg)
	done := testAlloc(c.NodeID(), structs.JobTypeBatch, `echo done`)
	srv.upsertAlloc(done)
	waitReported(t, srv, done.ID, structs.AllocClientStatusComplete)
	if err := c.CollectAll(); err != nil {
		t.Fatal(err)
	}
	waitCollected(t, c, done.ID)
}

func TestGCDiskThreshold(t *testing.T) {
	srv := newFakeServer()
	cfg := testConfig(t, srv, t.TempDir())
	// Any disk use is over this threshold: terminal allocations go at the
	// next run, running ones stay.
	cfg.GCDiskUsageThreshold, cfg.GCInterval = 1e-9, 20*time.Millisecond
	c := runClient(t, cfg)
	batch := testAlloc(c.NodeID(), structs.JobTypeBatch, `echo done`)
	svc := testAlloc(c.NodeID(), structs.JobTypeService, `exec sleep 300`)
	srv.upsertAlloc(batch)
	srv.upsertAlloc(svc)
	waitReported(t, srv, batch.ID, structs.AllocClientStatusComplete)
	waitReported(t, srv, svc.ID, structs.AllocClientStatusRunning)
	waitCollected(t, c, batch.ID)
	if _, err := c.GetAllocRunner(svc.ID); err != nil {
		t.Fatalf("running alloc collected: %v", err)
	}
}

// TestLogsKeepFlowingAcrossClientRestart: the executor, not the client,
// writes the task's log, so output produced while no client runs is kept,
// and the restarted client serves the same, still growing file.
func TestLogsKeepFlowingAcrossClientRestart(t *testing.T) {
	srv := newFakeServer()
	dataDir := t.TempDir()
	c1, err := New(testConfig(t, srv, dataDir))
	if err != nil {
		t.Fatal(err)
	}
	done1 := make(chan struct{})
	go func() { _ = c1.Run(context.Background()); close(done1) }()
	a := testAlloc(c1.NodeID(), structs.JobTypeService, `i=0; while :; do echo "line $i"; i=$((i+1)); sleep 0.02; done`)
	srv.upsertAlloc(a)
	stdout := filepath.Join(dataDir, "alloc", a.ID, "alloc", "logs", "web.stdout.0")
	waitGrows := func(from int64) int64 {
		var size int64
		testutil.WaitFor(t, 10*time.Second, func() error {
			fi, err := os.Stat(stdout)
			if err != nil {
				return err
			}
			if size = fi.Size(); size <= from+20 {
				return fmt.Errorf("log at %d bytes, waiting for more than %d", size, from+20)
			}
			return nil
		})
		return size
	}
	size := waitGrows(0)
	c1.Shutdown()
	<-done1

	size = waitGrows(size) // no client running: the executor keeps writing
	c2 := runClient(t, testConfig(t, srv, dataDir))
	if _, err := c2.GetAllocRunner(a.ID); err != nil {
		t.Fatal(err)
	}
	waitGrows(size)
	b, _ := os.ReadFile(stdout)
	if n := strings.Count(string(b), "line 0\n"); n != 1 {
		t.Fatalf("the task started %d times", n)
	}
	var last int
	for i, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if _, err := fmt.Sscanf(l, "line %d", &last); err != nil || last != i {
			t.Fatalf("line %d is %q: output lost or reordered", i, l)
		}
	}
}
