package taskrunner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/roam-sh/roam/client/allocdir"
	"github.com/roam-sh/roam/client/artifact"
	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/structs"
)

// artifactsHook fetches the task's artifacts into its directory before the
// first start, each in a sandboxed fetcher process running as the task's
// user (artifact.Sandbox). A failed download records "Failed Artifact
// Download" and is recoverable: the restart policy decides whether to try
// again. A refused local source says so in that event, naming the client
// setting that allows it.
type artifactsHook struct {
	dir     *allocdir.TaskDir
	fetcher *artifact.Sandbox
	logger  *slog.Logger
	done    bool // every artifact was fetched; restarts do not fetch again
}

func newArtifactsHook(dir *allocdir.TaskDir, cfg artifact.Config, logger *slog.Logger) *artifactsHook {
	return &artifactsHook{dir: dir, fetcher: artifact.NewSandbox(cfg, logger), logger: logger}
}

func (h *artifactsHook) Name() string { return "artifacts" }

func (h *artifactsHook) Prestart(ctx context.Context, req *PrestartRequest, resp *PrestartResponse) error {
	if h.done || len(req.Task.Artifacts) == 0 {
		return nil
	}
	resp.Events = append(resp.Events, structs.NewTaskEvent(structs.TaskDownloadingArtifacts))
	for _, a := range req.Task.Artifacts {
		if err := h.fetch(ctx, req, a); err != nil {
			err = fmt.Errorf("failed to download artifact %q: %w", a.GetterSource, err)
			ev := structs.NewTaskEvent(structs.TaskArtifactDownloadFailed)
			ev.DownloadError = err.Error()
			resp.Events = append(resp.Events, ev)
			return &eventedError{drivers.NewRecoverableError(err)}
		}
	}
	h.done = true
	return nil
}

func (h *artifactsHook) fetch(ctx context.Context, req *PrestartRequest, a *structs.TaskArtifact) error {
	mode, err := artifact.ParseMode(a.GetterMode)
	if err != nil {
		return err
	}
	env := req.TaskEnv
	r := artifact.Request{
		Source: env.Interpolate(a.GetterSource), Destination: env.Interpolate(a.RelativeDest), Mode: mode,
		Options: env.InterpolateMap(a.GetterOptions), Headers: env.InterpolateMap(a.GetterHeaders),
		TaskDir: h.dir.Dir,
	}
	as := artifact.FetchUser(req.Task.User)
	h.logger.Debug("fetching artifact", "source", r.Source, "destination", r.Destination, "mode", mode, "uid", as.UID)
	return h.fetcher.Fetch(ctx, r, as)
}

// eventedError is a prestart error whose hook already recorded an event
// saying what failed, so the runner adds no "Setup Failure" of its own.
type eventedError struct{ err error }

func (e *eventedError) Error() string { return e.err.Error() }
func (e *eventedError) Unwrap() error { return e.err }

// hasEvent reports whether err already produced its own task event.
func hasEvent(err error) bool {
	var ee *eventedError
	return errors.As(err, &ee)
}
