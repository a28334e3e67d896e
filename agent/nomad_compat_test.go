package agent

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	nomadapi "github.com/hashicorp/nomad/api"

	"github.com/roam-sh/roam/internal/version"
	"github.com/roam-sh/roam/testutil"
)

func nomadAgentClient(t *testing.T, a *Agent) *nomadapi.Client {
	t.Helper()
	cfg := nomadapi.DefaultConfig()
	cfg.Address = "http://" + a.HTTPAddr()
	nc, err := nomadapi.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return nc
}

// What Nomad's CLI and tools read from the agent itself: /v1/agent/self in
// Nomad's shape, `server members` and `operator raft list-peers` columns,
// `nomad monitor` and /v1/metrics with Nomad's metric names.
func TestAgentAnswersNomadTools(t *testing.T) {
	a := testAgent(t, nil)
	nc := nomadAgentClient(t, a)

	t.Run("agent self", func(t *testing.T) {
		self, err := nc.Agent().Self()
		if err != nil {
			t.Fatal(err)
		}
		v, _ := self.Config["Version"].(map[string]any)
		if v["Version"] != version.NomadCompatible || self.Config["RoamVersion"] != version.Version {
			t.Errorf("config.Version = %v, RoamVersion %v", v, self.Config["RoamVersion"])
		}
		for _, k := range []string{"ACL", "TLSConfig", "UI", "Telemetry", "Ports", "Addresses", "Server", "Client"} {
			if _, ok := self.Config[k].(map[string]any); !ok {
				t.Errorf("config.%s missing", k)
			}
		}
		if self.Stats["raft"]["applied_index"] == "" || self.Stats["nomad"]["leader"] != "true" {
			t.Errorf("stats raft %v nomad %v", self.Stats["raft"], self.Stats["nomad"])
		}
	})
	t.Run("server members and raft peers", func(t *testing.T) {
		members, err := nc.Agent().Members()
		if err != nil || len(members.Members) != 1 {
			t.Fatalf("members = %+v, %v", members, err)
		}
		m := members.Members[0]
		if m.Tags["build"] != version.NomadCompatible || m.Tags["raft_vsn"] == "" || m.Tags["dc"] != "dc1" {
			t.Errorf("member tags %v", m.Tags)
		}
		peers, err := nc.Operator().RaftGetConfiguration(nil)
		if err != nil || len(peers.Servers) != 1 {
			t.Fatalf("raft configuration = %+v, %v", peers, err)
		}
		if p := peers.Servers[0]; p.ID != m.Tags["id"] || p.Node != m.Name || !p.Leader {
			t.Errorf("raft peer %+v, want ID %s and node %s", p, m.Tags["id"], m.Name)
		}
	})
	t.Run("monitor", func(t *testing.T) { testMonitor(t, a, nc) })
	t.Run("metrics", func(t *testing.T) { testMetrics(t, a, nc) })
}

// testMonitor watches the log through Nomad's client and makes the agent
// log something (a request at debug level) until a line arrives.
func testMonitor(t *testing.T, a *Agent, nc *nomadapi.Client) {
	stop := make(chan struct{})
	defer close(stop)
	frames, errs := nc.Agent().Monitor(stop, &nomadapi.QueryOptions{Params: map[string]string{"log_level": "debug"}})
	var got strings.Builder
	testutil.WaitFor(t, 15*time.Second, func() error {
		a.logger.Debug("monitor probe", "component", "test")
		for {
			select {
			case f := <-frames:
				if f != nil {
					got.Write(f.Data)
				}
				continue
			case err := <-errs:
				t.Fatalf("monitor: %v", err)
			default:
			}
			break
		}
		if !strings.Contains(got.String(), "monitor probe") {
			return errText("no probe line yet")
		}
		return nil
	})
}

type errText string

func (e errText) Error() string { return string(e) }

func testMetrics(t *testing.T, a *Agent, nc *nomadapi.Client) {
	raw, err := nc.Operator().Metrics(nil)
	if err != nil {
		t.Fatal(err)
	}
	var sum nomadapi.MetricsSummary
	if err := json.Unmarshal(raw, &sum); err != nil {
		t.Fatalf("metrics JSON: %v", err)
	}
	names := map[string]bool{}
	for _, g := range sum.Gauges {
		names[g.Name] = true
	}
	for _, want := range []string{
		"nomad.raft.appliedIndex", "nomad.nomad.broker.total_ready", "nomad.nomad.plan.queue_depth",
		"nomad.client.allocations.running", "nomad.client.host.memory.total", "nomad.client.host.cpu.idle",
	} {
		if !names[want] {
			t.Errorf("JSON metrics lack %s", want)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+a.HTTPAddr()+"/v1/metrics?format=prometheus", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{"# TYPE nomad_nomad_broker_total_ready gauge", "nomad_raft_appliedIndex ", `nomad_client_allocations_running{datacenter="dc1"`, "nomad_client_host_memory_total{"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("prometheus metrics lack %q:\n%.2000s", want, body)
		}
	}
}
