package client

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/drivers/rawexec"
	"github.com/roam-sh/roam/testutil"
)

// slowDriver is raw_exec under another name whose fingerprint waits until
// release is closed, as java's (a JVM) and docker's (a daemon) take time.
type slowDriver struct {
	drivers.Driver
	release chan struct{}
}

func (d *slowDriver) Name() string { return "slow" }

func (d *slowDriver) SlowFingerprint() bool { return true }

func (d *slowDriver) Fingerprint(ctx context.Context) *drivers.Fingerprint {
	select {
	case <-d.release:
	case <-ctx.Done():
	}
	return &drivers.Fingerprint{Health: drivers.HealthStateHealthy, HealthDescription: "ready",
		Attributes: map[string]string{"driver.slow.version": "1"}}
}

// TestSlowDriverDoesNotHoldTheNodeBack: a driver whose fingerprint has not
// finished does not keep the node from registering; it shows as not
// detected meanwhile, and once its fingerprint finishes the node registers
// again with the driver available.
func TestSlowDriverDoesNotHoldTheNodeBack(t *testing.T) {
	srv := newFakeServer()
	cfg := testConfig(t, srv, t.TempDir())
	fast := rawexec.New(rawexec.Config{Plugin: rawexec.PluginConfig{Enabled: true}, Executor: cfg.Executor, Logger: testutil.Logger(t)})
	slow := &slowDriver{Driver: fast, release: make(chan struct{})}
	cfg.Drivers = []drivers.Driver{fast, slow}
	var released bool
	defer func() {
		if !released {
			close(slow.release)
		}
	}()
	started := make(chan *Client, 1)
	go func() {
		c, err := New(cfg)
		if err != nil {
			t.Error(err)
			started <- nil
			return
		}
		go c.Run(context.Background())
		started <- c
	}()
	var c *Client
	testutil.WaitFor(t, 20*time.Second, func() error {
		select {
		case c = <-started:
		default:
		}
		if c == nil {
			return fmt.Errorf("client not built yet: waiting for the slow driver?")
		}
		if regs, _, _ := srv.counts(); regs == 0 {
			return fmt.Errorf("node not registered")
		}
		return nil
	})
	t.Cleanup(c.Shutdown)
	n := srv.node(c.NodeID())
	if d := n.Drivers["slow"]; d == nil || d.Detected || n.Attributes["driver.slow"] != "" {
		t.Fatalf("slow driver before its fingerprint finished: %+v, attribute %q", d, n.Attributes["driver.slow"])
	}
	close(slow.release)
	released = true
	testutil.WaitFor(t, 20*time.Second, func() error {
		n := srv.node(c.NodeID())
		if d := n.Drivers["slow"]; d == nil || !d.Detected || !d.Healthy || n.Attributes["driver.slow"] != "1" {
			return fmt.Errorf("slow driver not available yet: %+v", d)
		}
		return nil
	})
}
