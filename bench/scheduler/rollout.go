package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/roam-sh/roam/structs"
)

// rolloutPhase is one update of every benchmark job to a new version.
type rolloutPhase struct {
	name        string
	maxParallel int // 0: no deployment, every allocation replaced at once
}

// rolloutPhases: the deployment first, then the same update without one,
// the in-run baseline (same server, same nodes, same allocation count).
func rolloutPhases(maxParallel int) []rolloutPhase {
	return []rolloutPhase{
		{name: fmt.Sprintf("deployment, max_parallel = %d", maxParallel), maxParallel: maxParallel},
		{name: "no deployment, max_parallel = 0", maxParallel: 0},
	}
}

// rolloutResult is what one phase measured.
type rolloutResult struct {
	phase rolloutPhase
	// took is from the first submit to the deployments successful (or,
	// without one, every new allocation reported running).
	took      time.Duration
	serverCPU time.Duration
	rssMax    int64 // the highest VmRSS sampled during the phase
}

// rollout runs the phases after the first placement: each submits a new
// version of every job and waits until it is rolled out.
func rollout(ctx context.Context, opts options, srv *serverSet, rpc rpcer, jobs []*structs.Job, track *tracker, logger *slog.Logger) ([]rolloutResult, error) {
	var out []rolloutResult
	for i, ph := range rolloutPhases(opts.maxParallel) {
		version := uint64(i + 1) // the first placement was version 0
		next := make([]*structs.Job, len(jobs))
		for j, job := range jobs {
			next[j] = updatedJob(job, version, ph.maxParallel)
		}
		res, err := rolloutOnce(ctx, srv, rpc, next, version, track, ph, logger)
		if err != nil {
			return nil, fmt.Errorf("roll-out %q: %w", ph.name, err)
		}
		out = append(out, res)
		logger.Info("roll-out done", "phase", ph.name, "took", round(res.took))
	}
	return out, nil
}

// updatedJob is job at the given version: a changed task command (a
// destructive update) and the phase's update strategy, with
// min_healthy_time 0 since the simulated nodes report health at once.
func updatedJob(job *structs.Job, version uint64, maxParallel int) *structs.Job {
	u := structs.UpdateStrategy{
		Stagger: 30 * time.Second, MaxParallel: maxParallel, HealthCheck: "task_states",
		HealthyDeadline: 5 * time.Minute, ProgressDeadline: 10 * time.Minute,
	}
	j := *job
	j.Update = u
	tg := *job.TaskGroups[0]
	tg.Update = &u
	task := *tg.Tasks[0]
	task.Config = map[string]any{"command": "/bin/sleep", "args": []any{fmt.Sprint(3600 + version)}}
	tg.Tasks = []*structs.Task{&task}
	j.TaskGroups = []*structs.TaskGroup{&tg}
	return &j
}

func rolloutOnce(ctx context.Context, srv *serverSet, rpc rpcer, jobs []*structs.Job, version uint64, track *tracker, ph rolloutPhase, logger *slog.Logger) (rolloutResult, error) {
	want := 0
	for _, j := range jobs {
		want += j.TaskGroups[0].Count
	}
	running := track.awaitVersion(version, want)
	before, err := srv.usage()
	if err != nil {
		return rolloutResult{}, err
	}
	sampler := startRSSSampler(srv)
	start := time.Now()
	if err := submitJobs(ctx, rpc, jobs, 4, track); err != nil {
		sampler.stop()
		return rolloutResult{}, err
	}
	if ph.maxParallel > 0 {
		err = waitDeployments(ctx, rpc, jobs, version, track, logger)
	} else {
		err = waitVersionRunning(ctx, running, track, version, want, logger)
	}
	took := time.Since(start)
	rssMax := sampler.stop()
	if err != nil {
		return rolloutResult{}, err
	}
	after, err := srv.usage()
	if err != nil {
		return rolloutResult{}, err
	}
	return rolloutResult{phase: ph, took: took, serverCPU: after.cpu - before.cpu, rssMax: max(rssMax, after.mem.RSS)}, nil
}

// waitDeployments waits, with blocking queries, until every job's
// deployment of version is successful; a failed or cancelled one ends the
// run.
func waitDeployments(ctx context.Context, rpc rpcer, jobs []*structs.Job, version uint64, track *tracker, logger *slog.Logger) error {
	for _, job := range jobs {
		var index uint64
		for {
			if ctx.Err() != nil {
				return fmt.Errorf("job %s: deployment not successful (%d allocations of version %d running): %w", job.ID, track.versionRunning(version), version, ctx.Err())
			}
			req := &structs.JobSpecificRequest{JobID: job.ID, QueryOptions: structs.QueryOptions{
				Region: structs.DefaultRegion, Namespace: job.Namespace, MinQueryIndex: index, MaxQueryTime: time.Second,
			}}
			var resp structs.DeploymentListResponse
			if err := rpc.RPC(structs.MethodDeploymentByJob, req, &resp); err != nil {
				return fmt.Errorf("job %s: deployments: %w", job.ID, err)
			}
			index = resp.Index
			done, err := deploymentDone(resp.Deployments, version)
			if err != nil {
				return fmt.Errorf("job %s: %w", job.ID, err)
			}
			if done {
				break
			}
			logger.Debug("roll-out progress", "job", job.ID, "running", track.versionRunning(version))
		}
	}
	return nil
}

// deploymentDone finds the deployment of version: done when successful,
// an error when it failed or was cancelled.
func deploymentDone(ds []*structs.Deployment, version uint64) (bool, error) {
	for _, d := range ds {
		if d.JobVersion != version {
			continue
		}
		switch d.Status {
		case structs.DeploymentStatusSuccessful:
			return true, nil
		case structs.DeploymentStatusFailed, structs.DeploymentStatusCancelled:
			return false, fmt.Errorf("deployment %s %s: %s", d.ID, d.Status, d.StatusDescription)
		}
	}
	return false, nil
}

// waitVersionRunning waits for every allocation of version to run.
func waitVersionRunning(ctx context.Context, running <-chan struct{}, track *tracker, version uint64, want int, logger *slog.Logger) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-running:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("%d of %d allocations of version %d running: %w", track.versionRunning(version), want, version, ctx.Err())
		case <-tick.C:
			logger.Info("roll-out progress", "version", version, "running", track.versionRunning(version), "want", want)
		}
	}
}

// rssSampler records the server's highest VmRSS during a phase (VmHWM is
// the process's whole life, so it cannot tell phases apart).
type rssSampler struct {
	stopCh chan struct{}
	wg     sync.WaitGroup
	max    int64
}

func startRSSSampler(srv *serverSet) *rssSampler {
	s := &rssSampler{stopCh: make(chan struct{})}
	s.wg.Go(func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			if m, err := srv.memory(); err == nil {
				s.max = max(s.max, m.RSS)
			}
			select {
			case <-s.stopCh:
				return
			case <-tick.C:
			}
		}
	})
	return s
}

func (s *rssSampler) stop() int64 {
	close(s.stopCh)
	s.wg.Wait()
	return s.max
}

// printRollout prints the roll-out figures and their key=value lines.
func printRollout(w io.Writer, allocs int, res []rolloutResult) {
	if len(res) == 0 {
		return
	}
	fmt.Fprintf(w, "  roll-out of %d allocations to a new version (health reported by the simulated nodes):\n", allocs)
	for _, r := range res {
		fmt.Fprintf(w, "    %-34s submit → done %s  server CPU %s  server RSS max %s\n", r.phase.name+":", round(r.took), round(r.serverCPU), mib(r.rssMax))
	}
	if len(res) == 2 {
		fmt.Fprintf(w, "rollout_deployment_seconds=%.3f\n", res[0].took.Seconds())
		fmt.Fprintf(w, "rollout_baseline_seconds=%.3f\n", res[1].took.Seconds())
		fmt.Fprintf(w, "rollout_deployment_cpu_seconds=%.3f\n", res[0].serverCPU.Seconds())
		fmt.Fprintf(w, "rollout_baseline_cpu_seconds=%.3f\n", res[1].serverCPU.Seconds())
	}
}
