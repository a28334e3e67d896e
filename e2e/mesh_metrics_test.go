package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/drivers/docker/dockertest"
	"github.com/roam-sh/roam/testutil"
)

// TestMeshHTTPMetricsOnTheAgent runs countdash with protocol http on the
// API's sidecar and on the dashboard's upstream: the dashboard's requests
// to the API, through both proxies, show on the agent's
// /v1/metrics?format=prometheus as requests by status class and a latency
// histogram holding every one of them, at both ends: exactly as many as
// the API says it served.
func TestMeshHTTPMetricsOnTheAgent(t *testing.T) {
	dc := dockertest.Require(t)
	requireImages(t, dc, "counter-api", "counter-dashboard")
	a, _ := bridgeAgent(t)
	c := a.api(t)
	noJobContainers(t, a, dc, "countdash")
	b, err := os.ReadFile(filepath.Join(seedJobs, "countdash.nomad"))
	if err != nil {
		t.Fatal(err)
	}
	job := strings.Replace(string(b), "sidecar_service {}", "sidecar_service {\nproxy {\nconfig {\nprotocol = \"http\"\n}\n}\n}", 1)
	job = strings.Replace(job, "local_bind_port = 8080\n", "local_bind_port = 8080\nconfig {\nprotocol = \"http\"\n}\n", 1)
	runJob(t, a, writeJob(t, "countdash-http.nomad", job))
	t.Cleanup(func() { stopAllJobs(t, c) })
	url := allocURL(groupAlloc(t, c, "countdash", "dashboard"))
	// Every read of the dashboard is one request to the API, whose answer
	// is how many requests it has served: the count after a few reads is
	// what both proxies must have seen.
	served := waitCount(t, url, 0)
	for range 5 {
		served = waitCount(t, url, served)
	}

	for _, end := range []struct{ requests, latency, label string }{
		{"roam_mesh_upstream_http_requests{", "roam_mesh_upstream_http_request_duration_seconds", `destination="count-api"`},
		{"roam_mesh_inbound_http_requests{", "roam_mesh_inbound_http_request_duration_seconds", `service="count-api"`},
	} {
		testutil.WaitFor(t, 60*time.Second, func() error {
			body, err := getBody(a.addr + "/v1/metrics?format=prometheus")
			if err != nil {
				return err
			}
			ok := promValue(body, end.requests, `code_class="2xx"`, end.label)
			count := promValue(body, end.latency+"_count{", end.label)
			inf := promValue(body, end.latency+`_bucket{`, `le="+Inf"`, end.label)
			if want := float64(served); ok != want || count != want || inf != want {
				return fmt.Errorf("%s: %v 2xx requests, histogram count %v, +Inf bucket %v; want the %d the API served", end.requests, ok, count, inf, served)
			}
			t.Logf("%s: %v requests answered 2xx, as the API counted, all in the latency histogram", end.requests, ok)
			return nil
		})
	}
	stopJob(t, a, dc, "countdash")
}

// promValue is the value of the first sample of the Prometheus text body
// whose line starts with prefix and holds every label; -1 when none.
func promValue(body, prefix string, labels ...string) float64 {
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		all := true
		for _, l := range labels {
			all = all && strings.Contains(line, l)
		}
		if !all {
			continue
		}
		f := strings.Fields(line)
		var v float64
		if _, err := fmt.Sscan(f[len(f)-1], &v); err == nil {
			return v
		}
	}
	return -1
}
