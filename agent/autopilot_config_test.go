package agent

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	nomadapi "github.com/hashicorp/nomad/api"

	"github.com/roam-sh/roam/testutil"
)

// Nomad's API client reads autopilot's defaults, replaces the
// configuration, loses and wins a check-and-set, and is refused settings
// out of bounds and Enterprise features.
func TestAutopilotConfigurationThroughNomadAPI(t *testing.T) {
	op := nomadAgentClient(t, testAgent(t, nil)).Operator()
	conf, _, err := op.AutopilotGetConfiguration(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !conf.CleanupDeadServers || conf.LastContactThreshold != 200*time.Millisecond || conf.MaxTrailingLogs != 250 ||
		conf.ServerStabilizationTime != 10*time.Second || conf.ModifyIndex != 0 {
		t.Fatalf("defaults: %+v", conf)
	}
	conf.CleanupDeadServers, conf.MaxTrailingLogs, conf.MinQuorum = false, 500, 3
	conf.LastContactThreshold, conf.ServerStabilizationTime = 300*time.Millisecond, 20*time.Second
	if _, err := op.AutopilotSetConfiguration(conf, nil); err != nil {
		t.Fatalf("set: %v", err)
	}
	got, _, err := op.AutopilotGetConfiguration(nil)
	if err != nil || got.CleanupDeadServers || got.MaxTrailingLogs != 500 || got.MinQuorum != 3 ||
		got.LastContactThreshold != 300*time.Millisecond || got.ServerStabilizationTime != 20*time.Second || got.ModifyIndex == 0 {
		t.Fatalf("after set: %+v, %v", got, err)
	}

	stale := *got
	stale.ModifyIndex--
	stale.MaxTrailingLogs = 1
	if ok, _, err := op.AutopilotCASConfiguration(&stale, nil); err != nil || ok {
		t.Fatalf("CAS with an old index: %v, %v, want false", ok, err)
	}
	fresh := *got
	fresh.MaxTrailingLogs = 1000
	if ok, _, err := op.AutopilotCASConfiguration(&fresh, nil); err != nil || !ok {
		t.Fatalf("CAS with the current index: %v, %v, want true", ok, err)
	}
	if now, _, _ := op.AutopilotGetConfiguration(nil); now.MaxTrailingLogs != 1000 || now.CreateIndex != got.CreateIndex {
		t.Fatalf("after CAS: %+v", now)
	}

	for _, tc := range []struct {
		name, want string
		edit       func(c *nomadapi.AutopilotConfiguration)
	}{
		{"enterprise", "EnableRedundancyZones: a Nomad Enterprise feature", func(c *nomadapi.AutopilotConfiguration) { c.EnableRedundancyZones = true }},
		{"no threshold", "LastContactThreshold 0s", func(c *nomadapi.AutopilotConfiguration) { c.LastContactThreshold = 0 }},
		{"no trailing logs", "MaxTrailingLogs 0", func(c *nomadapi.AutopilotConfiguration) { c.MaxTrailingLogs = 0 }},
	} {
		c := *got
		tc.edit(&c)
		if _, err := op.AutopilotSetConfiguration(&c, nil); err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want a 400 saying %q", tc.name, err, tc.want)
		}
	}
}

// The configuration is replicated: set through one server, every server
// reads it from its own state (?stale), and the leader's autopilot judges
// health by it (a last-contact threshold no follower can meet makes the
// cluster unhealthy; the default makes it healthy again).
func TestAutopilotConfigurationIsReplicatedAndUsed(t *testing.T) {
	var servers []*Agent
	var join []string
	for i := range 3 {
		cfg := serverAgentConfig(t, "ap"+strconv.Itoa(i), 3, join)
		a := startServerAgent(t, cfg)
		servers = append(servers, a)
		join = append(join, a.Server().LocalAddr())
	}
	for _, a := range servers[:2] {
		if _, err := nomadAgentClient(t, a).Agent().Join(join...); err != nil {
			t.Fatal(err)
		}
	}
	waitClusterLeader(t, servers...)
	op := nomadAgentClient(t, servers[1]).Operator()
	waitHealthy := func(want bool) {
		testutil.WaitFor(t, 30*time.Second, func() error {
			h, _, err := op.AutopilotServerHealth(nil)
			healthy := err == nil && h.Healthy
			if err != nil && !strings.Contains(err.Error(), "429") {
				return err
			}
			if healthy != want {
				return fmt.Errorf("healthy %v, want %v (%v)", healthy, want, err)
			}
			return nil
		})
	}
	waitHealthy(true)

	conf, _, err := op.AutopilotGetConfiguration(nil)
	if err != nil {
		t.Fatal(err)
	}
	// A write may meet an election on a loaded machine; it is retried.
	set := func(c *nomadapi.AutopilotConfiguration) {
		testutil.WaitFor(t, 30*time.Second, func() error {
			_, err := op.AutopilotSetConfiguration(c, nil)
			return err
		})
	}
	conf.LastContactThreshold = 10 * time.Millisecond
	conf.MaxTrailingLogs = 1
	set(conf)
	for _, a := range servers {
		testutil.WaitFor(t, 10*time.Second, func() error {
			c, _, err := nomadAgentClient(t, a).Operator().AutopilotGetConfiguration(&nomadapi.QueryOptions{AllowStale: true})
			if err != nil || c.LastContactThreshold != 10*time.Millisecond {
				return fmt.Errorf("%s: %+v, %v", a.cfg.NodeName, c, err)
			}
			return nil
		})
	}
	waitHealthy(false)
	conf.LastContactThreshold, conf.MaxTrailingLogs = 200*time.Millisecond, 250
	set(conf)
	waitHealthy(true)
}
