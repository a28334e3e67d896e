package rawexec

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/roam-sh/roam/drivers"
)

// TestCallContextBoundsCallNotTask: a call whose ctx ended does nothing and
// says why; cancelling the ctx a task was started with leaves it running.
func TestCallContextBoundsCallNotTask(t *testing.T) {
	d := newDriver(t, true)
	ended, cancelEnded := context.WithCancel(context.Background())
	cancelEnded()

	cfg := taskConfig(t, sh(`exec sleep 300`))
	if _, err := d.StartTask(ended, cfg); !errors.Is(err, context.Canceled) {
		t.Fatalf("start with an ended ctx: %v", err)
	}
	if _, err := d.InspectTask(cfg.ID); !errors.Is(err, drivers.ErrTaskNotFound) {
		t.Fatalf("a start with an ended ctx left a task: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cfg = taskConfig(t, sh(`exec sleep 300`))
	h, err := d.StartTask(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cleanupTask(t, h)
	cancel()
	if err := d.StopTask(ended, cfg.ID, 0, "SIGKILL"); !errors.Is(err, context.Canceled) {
		t.Fatalf("stop with an ended ctx: %v", err)
	}
	if err := d.DestroyTask(ended, cfg.ID, true); !errors.Is(err, context.Canceled) {
		t.Fatalf("destroy with an ended ctx: %v", err)
	}
	if st, err := d.InspectTask(cfg.ID); err != nil || st.State != drivers.TaskStateRunning {
		t.Fatalf("task after its start ctx ended: %+v %v", st, err)
	}
	if err := d.StopTask(context.Background(), cfg.ID, 0, "SIGKILL"); err != nil {
		t.Fatal(err)
	}
	if res := waitExit(t, d, cfg.ID, 10*time.Second); res.Signal == 0 {
		t.Fatalf("exit %+v", res)
	}
}
