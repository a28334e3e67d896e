package collector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/roam-sh/roam/drivers/executor"
	"github.com/roam-sh/roam/internal/logfile"
)

// Timing of the follow loop.
const (
	// saveInterval is how often, at most, the cursor is written to disk.
	saveInterval = time.Second
	// stoppedPoll is how often the logs of a stopped container are asked
	// again, in case the driver starts it again (after a daemon restart).
	stoppedPoll = time.Second
	// retryMax caps the wait between attempts to reach the daemon.
	retryMax = 5 * time.Second
	// finalPassTimeout bounds the last read after SIGTERM.
	finalPassTimeout = 10 * time.Second
)

// ClientOpts are the options of a Docker API client for endpoint ("" means
// DOCKER_HOST or the default socket). The client negotiates the API version
// with the daemon on its first call unless DOCKER_API_VERSION fixes it. The
// driver and the collector build their clients alike.
func ClientOpts(endpoint string) []client.Opt {
	opts := []client.Opt{client.FromEnv}
	if endpoint != "" {
		opts = append(opts, client.WithHost(endpoint))
	}
	return opts
}

type collector struct {
	spec   *Spec
	api    *client.Client
	logger *slog.Logger
	stdout io.WriteCloser
	stderr io.WriteCloser

	cur     Cursor
	savedAt time.Time
	dirty   bool
}

// run follows the container until ctx ends (SIGTERM) or the container is
// removed, then makes a final pass and saves the cursor.
func run(ctx context.Context, spec *Spec, logger *slog.Logger) error {
	api, err := client.New(ClientOpts(spec.Endpoint)...)
	if err != nil {
		return fmt.Errorf("docker client: %w", err)
	}
	defer api.Close()
	c := &collector{spec: spec, api: api, logger: logger}
	if c.cur, err = loadCursor(spec.CursorPath); err != nil {
		return err
	}
	if err := c.openWriters(); err != nil {
		return err
	}
	defer c.close()
	if gone := c.followLoop(ctx); gone {
		return nil
	}
	fctx, cancel := context.WithTimeout(context.Background(), finalPassTimeout)
	defer cancel()
	if _, err := c.pass(fctx, false); err != nil && !cerrdefs.IsNotFound(err) {
		logger.Warn("final pass over the container's logs", "error", err)
	}
	return nil
}

func (c *collector) openWriters() error {
	var err error
	if c.stdout, err = executor.OpenLogWriter(c.spec.Logs, logfile.Stdout, c.logger); err != nil {
		return err
	}
	if c.stderr, err = executor.OpenLogWriter(c.spec.Logs, logfile.Stderr, c.logger); err != nil {
		c.stdout.Close()
		return err
	}
	return nil
}

func (c *collector) close() {
	c.save(true)
	c.stdout.Close()
	c.stderr.Close()
}

// followLoop follows the logs again after every break until ctx ends. It
// reports whether the container is gone (then there is nothing left to read).
func (c *collector) followLoop(ctx context.Context) (gone bool) {
	wait := stoppedPoll
	for ctx.Err() == nil {
		n, err := c.pass(ctx, true)
		c.save(true)
		switch {
		case cerrdefs.IsNotFound(err):
			c.logger.Info("container removed; collector done")
			return true
		case err != nil && ctx.Err() == nil:
			c.logger.Warn("following the container's logs", "error", err, "retry_in", wait)
			wait = min(wait*2, retryMax)
		case n > 0 || err == nil:
			wait = stoppedPoll
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
	return false
}

// pass reads the logs from the cursor on (following them if asked) and
// writes what is new. It returns how many messages it wrote.
func (c *collector) pass(ctx context.Context, follow bool) (int, error) {
	opts := client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Follow: follow, Timestamps: true}
	if s := c.cur.since(); !s.IsZero() {
		opts.Since = fmt.Sprintf("%d.%09d", s.Unix(), s.Nanosecond())
	}
	rc, err := c.api.ContainerLogs(ctx, c.spec.ContainerID, opts)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	d, n := newDedup(c.cur), 0
	err = readMessages(rc, func(m message) error {
		if !d.fresh(m) {
			return nil
		}
		c.write(m)
		n++
		return nil
	})
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		err = nil
	}
	return n, err
}

// write appends one message to its stream's files. A failing write (full
// disk) drops the message but moves the cursor: the stream must go on.
func (c *collector) write(m message) {
	w := c.stdout
	if m.stream == streamStderr {
		w = c.stderr
	}
	if _, err := w.Write(m.text); err != nil {
		c.logger.Error("writing container output; dropping it", "error", err)
	}
	c.cur.advance(m.stream, m.ts)
	c.dirty = true
	c.save(false)
}

// save writes the cursor when it changed, at most every saveInterval
// unless forced.
func (c *collector) save(force bool) {
	if !c.dirty || (!force && time.Since(c.savedAt) < saveInterval) {
		return
	}
	if err := saveCursor(c.spec.CursorPath, c.cur); err != nil {
		c.logger.Warn("saving log cursor", "error", err)
		return
	}
	c.dirty, c.savedAt = false, time.Now()
}
