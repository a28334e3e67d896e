package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	kitlog "github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/discovery"
	"github.com/prometheus/prometheus/discovery/consul"
	"github.com/prometheus/prometheus/discovery/nomad"
	"github.com/prometheus/prometheus/discovery/targetgroup"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
	"gopkg.in/yaml.v2"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/netns/nstest"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// promJob runs two instances of a task that serves HTTP on its host port
// (127.0.0.1, the node's address): 200, or 500 while the file
// $NOMAD_ALLOC_DIR/fail exists, so a test breaks one instance by hand. Its
// nomad service has an http check every second.
const promJob = `
job "%[1]s" {
  datacenters = ["*"]
  group "web" {
    count = 2
    network {
      port "http" {}
    }
    task "srv" {
      driver = "raw_exec"
      config {
        command = "/usr/bin/perl"
        args    = ["-MIO::Socket::INET", "-e", %[2]q]
      }
      service {
        name     = "%[1]s"
        provider = "nomad"
        port     = "http"
        tags     = ["metrics", "v1"]
        check {
          type     = "http"
          path     = "/metrics"
          interval = "1s"
          timeout  = "1s"
        }
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
`

const promServe = `$s = IO::Socket::INET->new(LocalAddr => $ENV{NOMAD_IP_http}, LocalPort => $ENV{NOMAD_PORT_http}, Listen => 5, ReuseAddr => 1) or die $!;
while ($c = $s->accept) {
  while (<$c>) { last if /^\r?$/ }
  $st = -e "$ENV{NOMAD_ALLOC_DIR}/fail" ? "500 Broken" : "200 OK";
  print $c "HTTP/1.0 $st\r\nContent-Type: text/plain\r\nContent-Length: 8\r\n\r\nup 1\n\n\n";
  close $c;
}`

// targets is what a Prometheus discovery currently offers, by __address__.
type targets map[string]model.LabelSet

func (ts targets) addrs() []string {
	var out []string
	for a := range ts {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// TestPrometheusDiscoversServices: Prometheus' own service discovery code
// (its discovery/nomad and discovery/consul Go packages, what
// nomad_sd_config and consul_sd_config run; Debian's prometheus 2.42 has
// neither: it predates Nomad's and its packagers left Consul's out) against
// a roam agent. Both find the job's two instances with their usual labels.
// An instance whose check goes critical leaves Nomad's discovery (roam's
// GET /v1/service/:name is health-aware) and is labelled critical by
// Consul's (__meta_consul_health, which the usual keep rule drops); both
// offer it again once its check passes.
func TestPrometheusDiscoversServices(t *testing.T) {
	dataDir := t.TempDir()
	testutil.CleanupMounts(t, dataDir)
	a := startAgent(t, dataDir, serverClientConfig(t, dataDir))
	c := a.api(t)
	svc := "prom" + nstest.RandHex(3)
	jobFile := writeJob(t, "prom.nomad", fmt.Sprintf(promJob, svc, promServe))
	if out, code := a.roam(t, "job", "run", "-detach", jobFile); code != 0 {
		t.Fatalf("job run: %d\n%s", code, out)
	}
	allocs := runningAllocs(t, c, svc, 2)

	agentAddr := strings.TrimPrefix(a.addr, "http://")
	watchers := map[string]func() (targets, error){
		"nomad_sd_config": watchSD(t, &nomad.SDConfig{}, fmt.Sprintf(nomadSDConfig, agentAddr, svc), "", nil),
		"consul_sd_config": watchSD(t, &consul.SDConfig{}, fmt.Sprintf(consulSDConfig, agentAddr, svc), consulRelabel,
			func(l model.LabelSet) error {
				if h := l["__meta_consul_health"]; h != "critical" {
					return fmt.Errorf("consul_sd_config: dropped target %v is %q, want critical", l, h)
				}
				return nil
			}),
	}

	want := map[string]*api.Allocation{}
	for _, al := range allocs {
		want[fmt.Sprintf("127.0.0.1:%d", al.AllocatedResources.Shared.Ports[0].Value)] = al
	}
	waitTargets(t, watchers, want)
	instanceID := func(al *api.Allocation) string { return fmt.Sprintf("_nomad-task-%s-srv-%s-http", al.ID, svc) }
	checkLabels(t, "nomad_sd_config", watchers["nomad_sd_config"], want, func(al *api.Allocation, port string) map[model.LabelName]string {
		return map[model.LabelName]string{
			"__meta_nomad_service":         svc,
			"__meta_nomad_address":         "127.0.0.1",
			"__meta_nomad_service_address": "127.0.0.1",
			"__meta_nomad_service_port":    port,
			"__meta_nomad_service_id":      instanceID(al),
			"__meta_nomad_node_id":         al.NodeID,
			"__meta_nomad_namespace":       "default",
			"__meta_nomad_dc":              "dc1",
			"__meta_nomad_tags":            ",metrics,v1,",
		}
	})
	checkLabels(t, "consul_sd_config", watchers["consul_sd_config"], want, func(al *api.Allocation, port string) map[model.LabelName]string {
		return map[model.LabelName]string{
			"__meta_consul_service":         svc,
			"__meta_consul_service_address": "127.0.0.1",
			"__meta_consul_service_port":    port,
			"__meta_consul_service_id":      instanceID(al),
			"__meta_consul_tags":            ",metrics,v1,",
			"__meta_consul_health":          "passing",
			"__meta_consul_dc":              "dc1",
		}
	})

	// Break one instance: its check goes critical and it leaves both.
	broken := allocs[0]
	fail := filepath.Join(dataDir, "alloc", broken.ID, "alloc", "fail")
	if err := os.WriteFile(fail, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	healthy := map[string]*api.Allocation{}
	for addr, al := range want {
		if al.ID != broken.ID {
			healthy[addr] = al
		}
	}
	waitTargets(t, watchers, healthy)

	// Mend it: it comes back to both.
	if err := os.Remove(fail); err != nil {
		t.Fatal(err)
	}
	waitTargets(t, watchers, want)
}

// runningAllocs waits for n running allocations of job.
func runningAllocs(t *testing.T, c *api.Client, job string, n int) []*api.Allocation {
	t.Helper()
	var out []*api.Allocation
	testutil.WaitFor(t, 60*time.Second, func() error {
		stubs, _, err := c.Jobs().Allocations(job, false, nil)
		if err != nil {
			return err
		}
		out = out[:0]
		for _, s := range stubs {
			if s.ClientStatus == structs.AllocClientStatusRunning {
				al, _, err := c.Allocations().Info(s.ID, nil)
				if err != nil {
					return err
				}
				out = append(out, al)
			}
		}
		if len(out) != n {
			return fmt.Errorf("%d of %d allocations of %s running", len(out), n, job)
		}
		return nil
	})
	return out
}

// waitTargets waits until every watcher offers exactly the addresses of want.
func waitTargets(t *testing.T, watchers map[string]func() (targets, error), want map[string]*api.Allocation) {
	t.Helper()
	var wantAddrs []string
	for a := range want {
		wantAddrs = append(wantAddrs, a)
	}
	sort.Strings(wantAddrs)
	for name, get := range watchers {
		testutil.WaitFor(t, 60*time.Second, func() error {
			got, err := get()
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if g := got.addrs(); strings.Join(g, " ") != strings.Join(wantAddrs, " ") {
				return fmt.Errorf("%s offers %v, want %v", name, g, wantAddrs)
			}
			return nil
		})
	}
}

// checkLabels: each target carries the labels Prometheus documents for
// the discovery, with the instance's values (labels(alloc, port)).
func checkLabels(t *testing.T, name string, get func() (targets, error), want map[string]*api.Allocation,
	labels func(al *api.Allocation, port string) map[model.LabelName]string) {
	t.Helper()
	got, err := get()
	if err != nil {
		t.Fatal(err)
	}
	for addr, al := range want {
		for label, value := range labels(al, fmt.Sprint(al.AllocatedResources.Shared.Ports[0].Value)) {
			if g := string(got[addr][label]); g != value {
				t.Errorf("%s target %s: %s = %q, want %q (labels %v)", name, addr, label, g, value, got[addr])
			}
		}
	}
}

// sdConfigs are the two discoveries as an operator writes them in a
// scrape config, for an agent at %[1]s and service %[2]s. Consul's keeps
// passing and warning instances with the usual relabel rule: Prometheus'
// consul_sd_config asks /v1/health/service/:name without ?passing and
// labels each target with its health. Consul's needs its datacenter: it
// would otherwise read it from Consul's /v1/agent/self (Config.Datacenter),
// which roam serves in Nomad's shape.
const (
	nomadSDConfig = `
server: http://%[1]s
refresh_interval: 1s
`
	consulSDConfig = `
server: %[1]s
datacenter: dc1
services: [%[2]q]
`
	consulRelabel = `
- source_labels: [__meta_consul_health]
  regex: passing|warning
  action: keep
`
)

// watchSD runs a Prometheus discoverer configured from yamlCfg against the
// agent and returns a reader of the targets it last sent that the relabel
// rules keep (as Prometheus' scrape manager keeps them). dropped is called
// on each target the rules drop.
func watchSD(t *testing.T, cfg discovery.Config, yamlCfg, rules string, dropped func(model.LabelSet) error) func() (targets, error) {
	t.Helper()
	if err := yaml.UnmarshalStrict([]byte(yamlCfg), cfg); err != nil {
		t.Fatalf("%s config: %v", cfg.Name(), err)
	}
	var relabels []*relabel.Config
	if err := yaml.UnmarshalStrict([]byte(rules), &relabels); err != nil {
		t.Fatalf("relabel config: %v", err)
	}
	reg := prometheus.NewRegistry()
	metrics := cfg.NewDiscovererMetrics(reg, discovery.NewRefreshMetrics(reg))
	if err := metrics.Register(); err != nil {
		t.Fatal(err)
	}
	// Its log is shown if the test fails.
	var sdLog testutil.SyncBuffer
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s log:\n%s", cfg.Name(), sdLog.String())
		}
	})
	logger := kitlog.NewLogfmtLogger(&sdLog)
	d, err := cfg.NewDiscoverer(discovery.DiscovererOptions{Logger: logger, Metrics: metrics})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan []*targetgroup.Group)
	var (
		mu     sync.Mutex
		groups = map[string]*targetgroup.Group{} // by source, as the scrape manager merges them
	)
	done := make(chan struct{})
	go func() { d.Run(ctx, ch); close(done) }()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case gs := <-ch:
				mu.Lock()
				for _, g := range gs {
					groups[g.Source] = g
				}
				mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return func() (targets, error) {
		mu.Lock()
		defer mu.Unlock()
		ts := targets{}
		for _, g := range groups {
			for _, tl := range g.Targets {
				l := tl.Merge(g.Labels)
				if _, keep := relabel.Process(labels.FromMap(labelMap(l)), relabels...); !keep {
					if err := dropped(l); err != nil {
						return nil, err
					}
					continue
				}
				ts[string(l[model.AddressLabel])] = l
			}
		}
		return ts, nil
	}
}

func labelMap(ls model.LabelSet) map[string]string {
	m := make(map[string]string, len(ls))
	for k, v := range ls {
		m[string(k)] = string(v)
	}
	return m
}
