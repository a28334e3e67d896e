package httpapi_test

import (
	"strings"
	"testing"

	nomadapi "github.com/hashicorp/nomad/api"

	"github.com/roam-sh/roam/internal/apitest"
)

// What Nomad's CLI reads past the core loop, through Nomad's Go client. Each
// subtest is one CLI command that failed before its endpoint or field
// existed (the command it stands for is in the subtest's name).
func TestNomadCLIEndpoints(t *testing.T) {
	c := apitest.Start(t)
	node := c.RegisterNode(t)
	nc := nomadClient(t, c)
	job := nomadJob("cli", 1)
	job.TaskGroups[0].Scaling = &nomadapi.ScalingPolicy{Min: ptr(int64(1)), Max: ptr(int64(3))}
	src := "job \"cli\" {}\n"
	resp, _, err := nc.Jobs().RegisterOpts(job, &nomadapi.RegisterOptions{
		Submission: &nomadapi.JobSubmission{Source: src, Format: "hcl2"},
	}, nil)
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	waitNomadEval(t, nc, resp.EvalID)

	t.Run("job status reads the latest deployment", func(t *testing.T) {
		// A service job rolls out through a deployment.
		d, qm, err := nc.Jobs().LatestDeployment("cli", nil)
		if err != nil || d == nil || d.JobID != "cli" || qm.LastIndex == 0 {
			t.Errorf("LatestDeployment = %+v, %+v, %v; want the job's deployment with an index", d, qm, err)
		}
		if ds, _, err := nc.Jobs().Deployments("cli", false, nil); err != nil || len(ds) != 1 {
			t.Errorf("Deployments = %v, %v", ds, err)
		}
		if ds, _, err := nc.Deployments().List(nil); err != nil || len(ds) != 1 {
			t.Errorf("Deployments().List = %v, %v", ds, err)
		}
		// A job with none answers null, with an index.
		d, qm, err = nc.Jobs().LatestDeployment("nope", nil)
		if err != nil || d != nil || qm.LastIndex == 0 {
			t.Errorf("LatestDeployment of a job without one = %+v, %+v, %v; want null with an index", d, qm, err)
		}
	})
	t.Run("node status adds up the legacy alloc resources", func(t *testing.T) {
		allocs, _, err := nc.Nodes().Allocations(node.ID, nil)
		if err != nil || len(allocs) != 1 {
			t.Fatalf("node allocations = %v, %v", allocs, err)
		}
		a := allocs[0]
		if a.Resources == nil || a.Resources.CPU == nil || *a.Resources.CPU != 100 || *a.Resources.MemoryMB != 64 || a.Resources.DiskMB == nil {
			t.Errorf("alloc Resources = %+v", a.Resources)
		}
		if tr := a.TaskResources["server"]; tr == nil || *tr.CPU != 100 || *tr.MemoryMB != 64 {
			t.Errorf("alloc TaskResources = %+v", a.TaskResources)
		}
	})
	t.Run("job scale within the policy bounds", func(t *testing.T) {
		if _, _, err := nc.Jobs().Scale("cli", "web", ptr(5), "too many", false, nil, nil); err == nil || !strings.Contains(err.Error(), "maximum: 5 > 3") {
			t.Errorf("scale above the maximum: %v", err)
		}
		r, _, err := nc.Jobs().Scale("cli", "web", ptr(2), "two", false, nil, nil)
		if err != nil || r.EvalID == "" {
			t.Fatalf("scale to 2 = %+v, %v", r, err)
		}
		waitNomadEval(t, nc, r.EvalID)
		st, _, err := nc.Jobs().ScaleStatus("cli", nil)
		if err != nil || st.TaskGroups["web"].Desired != 2 || st.TaskGroups["web"].Placed != 2 {
			t.Errorf("ScaleStatus = %+v, %v", st, err)
		}
	})
	t.Run("job inspect -hcl reads the submission", func(t *testing.T) {
		sub, _, err := nc.Jobs().Submission("cli", 0, nil)
		if err != nil || sub.Source != src || sub.Format != "hcl2" {
			t.Errorf("Submission(version 0) = %+v, %v", sub, err)
		}
		if _, _, err := nc.Jobs().Submission("cli", 1, nil); err == nil || !strings.Contains(err.Error(), "404") {
			t.Errorf("Submission of the scaled version (sent without source) = %v, want 404", err)
		}
	})
	t.Run("system gc and reconcile summaries", func(t *testing.T) {
		if err := nc.System().GarbageCollect(); err != nil {
			t.Errorf("GarbageCollect: %v", err)
		}
		if err := nc.System().ReconcileSummaries(); err != nil {
			t.Errorf("ReconcileSummaries: %v", err)
		}
	})
	t.Run("operator scheduler get-config and set-config", func(t *testing.T) {
		cfg, _, err := nc.Operator().SchedulerGetConfiguration(nil)
		if err != nil || cfg.SchedulerConfig == nil || cfg.SchedulerConfig.SchedulerAlgorithm != "binpack" {
			t.Fatalf("SchedulerGetConfiguration = %+v, %v", cfg, err)
		}
		if r, _, err := nc.Operator().SchedulerSetConfiguration(cfg.SchedulerConfig, nil); err != nil || !r.Updated {
			t.Errorf("setting the configuration read = %+v, %v", r, err)
		}
		spread := *cfg.SchedulerConfig
		spread.SchedulerAlgorithm = "spread"
		if _, _, err := nc.Operator().SchedulerSetConfiguration(&spread, nil); err == nil || !strings.Contains(err.Error(), "spread") {
			t.Errorf("setting spread: %v, want a refusal naming it", err)
		}
	})
	t.Run("job list filters on the whole job", func(t *testing.T) {
		// The CLI's `job status` of a periodic job's children filters so.
		list, _, err := nc.Jobs().List(&nomadapi.QueryOptions{Filter: `Periodic is not nil`})
		if err != nil || len(list) != 0 {
			t.Errorf("filter Periodic is not nil = %v, %v; want none", list, err)
		}
		list, _, err = nc.Jobs().List(&nomadapi.QueryOptions{Filter: `Update.MaxParallel == 1`})
		if err != nil || len(list) != 1 {
			t.Errorf("filter on the update strategy = %v, %v; want the job", list, err)
		}
	})
}
