package main

import (
	"context"
	"fmt"
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

func registerJob(rpc rpcer, job *structs.Job, track *tracker) error {
	req := &structs.JobRegisterRequest{
		Job:          job,
		WriteRequest: structs.WriteRequest{Region: structs.DefaultRegion, Namespace: job.Namespace},
	}
	var resp structs.JobRegisterResponse
	track.submitted(job.ID, time.Now())
	if err := rpc.RPC(structs.MethodJobRegister, req, &resp); err != nil {
		return fmt.Errorf("register job %s: %w", job.ID, err)
	}
	if resp.EvalID == "" {
		return fmt.Errorf("register job %s: no evaluation created", job.ID)
	}
	return nil
}
