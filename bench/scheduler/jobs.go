package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/roam-sh/roam/structs"
)

// submitJobs registers jobs through Job.Register over RPC from workers
// goroutines, each taking the next job as soon as its previous registration
// returned (CI pipelines pushing jobs). The time recorded for a job is the
// moment its registration was sent.
func submitJobs(ctx context.Context, rpc rpcer, jobs []*structs.Job, workers int, track *tracker) error {
	next := make(chan *structs.Job)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for job := range next {
				if err := registerJob(rpc, job, track); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	err := feed(ctx, next, jobs, errs)
	close(next)
	wg.Wait()
	return err
}

// feed hands out jobs until all are taken, ctx ends or a worker failed.
func feed(ctx context.Context, next chan<- *structs.Job, jobs []*structs.Job, errs <-chan error) error {
	for _, job := range jobs {
		select {
		case next <- job:
		case err := <-errs:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// noLeaderRetries bounds how often one registration is sent again while
// the cluster has no leader.
const noLeaderRetries = 20

func registerJob(rpc rpcer, job *structs.Job, track *tracker) error {
	req := &structs.JobRegisterRequest{
		Job:          job,
		WriteRequest: structs.WriteRequest{Region: structs.DefaultRegion, Namespace: job.Namespace},
	}
	var resp structs.JobRegisterResponse
	track.submitted(job.ID, time.Now())
	// An election (a busy machine can starve a leader's heartbeats) fails
	// the write; the same job is sent again, as a pipeline would retry, and
	// the time stays the first attempt's. Registering an unchanged job
	// twice places nothing twice.
	var err error
	for attempt := 0; attempt < noLeaderRetries; attempt++ {
		if err = rpc.RPC(structs.MethodJobRegister, req, &resp); err == nil || !strings.Contains(err.Error(), "no cluster leader") {
			break
		}
		track.retried()
		time.Sleep(retryDelay)
	}
	if err != nil {
		return fmt.Errorf("register job %s: %w", job.ID, err)
	}
	if resp.EvalID == "" {
		return fmt.Errorf("register job %s: no evaluation created", job.ID)
	}
	return nil
}
