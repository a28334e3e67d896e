package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	nomadapi "github.com/hashicorp/nomad/api"

	"github.com/roam-sh/roam/testutil"
)

// TestMetricsCountersAndSamples: after a job is scheduled, a scrape of
// /v1/metrics holds the counters and timings Nomad's dashboards chart (raft
// commits, plan evaluation and apply, scheduler runs), with
// counts and durations that add up, in JSON and in Prometheus' format.
func TestMetricsCountersAndSamples(t *testing.T) {
	a := testAgent(t, nil)
	nc := nomadAgentClient(t, a)
	job := nomadapi.NewServiceJob("metrics", "metrics", "global", 50)
	job.Datacenters = []string{"*"}
	task := nomadapi.NewTask("t", "raw_exec").SetConfig("command", "/bin/sleep").SetConfig("args", []string{"60"})
	job.AddTaskGroup(nomadapi.NewTaskGroup("g", 1).AddTask(task))
	resp, _, err := nc.Jobs().Register(job, nil)
	if err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 30*time.Second, func() error {
		e, _, err := nc.Evaluations().Info(resp.EvalID, nil)
		if err == nil && e.Status != "complete" {
			err = fmt.Errorf("evaluation is %s", e.Status)
		}
		return err
	})

	raw, err := nc.Operator().Metrics(nil)
	if err != nil {
		t.Fatal(err)
	}
	var sum nomadapi.MetricsSummary
	if err := json.Unmarshal(raw, &sum); err != nil {
		t.Fatalf("metrics JSON: %v", err)
	}
	counters := map[string]nomadapi.SampledValue{}
	for _, c := range sum.Counters {
		counters[c.Name] = c
	}
	if c := counters["nomad.raft.apply"]; c.Count < 3 || c.Sum != float64(c.Count) || c.Rate <= 0 {
		t.Errorf("counter nomad.raft.apply = %+v, want one per entry (node, job, evaluation, plan…)", c)
	}
	samples := map[string]nomadapi.SampledValue{}
	for _, s := range sum.Samples {
		samples[s.Name] = s
	}
	for _, name := range []string{
		"nomad.raft.commitTime", "nomad.nomad.plan.evaluate", "nomad.nomad.plan.apply",
		"nomad.nomad.worker.invoke_scheduler.service", "nomad.nomad.worker.submit_plan",
	} {
		s, ok := samples[name]
		// Milliseconds: positive, and far below the test's own time.
		plausible := s.Count >= 1 && s.Min >= 0 && s.Min <= s.Mean && s.Mean <= s.Max && s.Max < 30_000 &&
			s.Sum >= s.Max && s.DisplayLabels != nil
		if !ok || !plausible {
			t.Errorf("sample %s = %+v (present %v)", name, s, ok)
		}
	}

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+a.HTTPAddr()+"/v1/metrics?format=prometheus", nil)
	hresp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer hresp.Body.Close()
	body, _ := io.ReadAll(hresp.Body)
	text := string(body)
	for _, want := range []string{
		"# TYPE nomad_raft_apply counter", "# TYPE nomad_raft_commitTime summary",
		"# TYPE nomad_nomad_plan_evaluate summary", "nomad_nomad_worker_invoke_scheduler_service_count ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("prometheus metrics lack %q:\n%.3000s", want, text)
		}
	}
	if n := promValue(text, "nomad_raft_apply"); n < 3 {
		t.Errorf("nomad_raft_apply = %v, want at least 3", n)
	}
	if n := promValue(text, "nomad_nomad_plan_evaluate_count"); n < 1 {
		t.Errorf("nomad_nomad_plan_evaluate_count = %v, want at least 1", n)
	}
}

// promValue is the value of the unlabelled series name in a text scrape,
// or -1.
func promValue(text, name string) float64 {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err == nil {
				return f
			}
		}
	}
	return -1
}
