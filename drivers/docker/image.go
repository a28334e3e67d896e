package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/roam-sh/roam/drivers"
)

// ensureImage makes the task's image available: a `load` tarball first,
// then the local image store, then the image's registry (always the
// registry with force_pull). A pull failure is recoverable: the registry
// may come back.
func (d *Driver) ensureImage(cfg *drivers.TaskConfig, tc *TaskConfig) error {
	ctx, cancel := context.WithTimeout(context.Background(), d.cfg.Plugin.PullTimeout)
	defer cancel()
	if tc.Load != "" {
		if err := d.loadImage(ctx, filepath.Join(cfg.TaskDir.Dir, tc.Load)); err != nil {
			return err
		}
	}
	if !tc.ForcePull {
		_, err := d.api.ImageInspect(ctx, tc.Image)
		if err == nil {
			return nil
		}
		if !cerrdefs.IsNotFound(err) {
			return drivers.NewRecoverableError(fmt.Errorf("inspect image %q: %w", tc.Image, err))
		}
	}
	d.logger.Info("pulling image", "image", tc.Image, "force_pull", tc.ForcePull)
	if err := d.pullImage(ctx, tc.Image); err != nil {
		if tc.ForcePull {
			return drivers.NewRecoverableError(fmt.Errorf("force_pull: image %q could not be pulled from its registry: %w", tc.Image, err))
		}
		return drivers.NewRecoverableError(fmt.Errorf("image %q is not present locally and could not be pulled from its registry: %w", tc.Image, err))
	}
	return nil
}

// pullImage pulls ref; errors reported inside the progress stream count.
func (d *Driver) pullImage(ctx context.Context, ref string) error {
	rc, err := d.api.ImagePull(ctx, ref, image.PullOptions{})
	if err != nil {
		return err
	}
	defer rc.Close()
	return streamError(rc)
}

// loadImage loads a `docker save` tarball, as the job's `load` asks.
func (d *Driver) loadImage(ctx context.Context, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	defer f.Close()
	if err := loadArchive(ctx, d.api, f); err != nil {
		return fmt.Errorf("load %s: %w", path, err)
	}
	return nil
}

// loadArchive sends an image archive to the daemon and reads its answer.
func loadArchive(ctx context.Context, api *client.Client, r io.Reader) error {
	resp, err := api.ImageLoad(ctx, r, client.ImageLoadWithQuiet(true))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return streamError(resp.Body)
}

// streamError reads a daemon's JSON progress stream to its end and returns
// the first error it reports.
func streamError(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var m struct {
			Error string `json:"error"`
		}
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read daemon progress: %w", err)
		}
		if m.Error != "" {
			return errors.New(m.Error)
		}
	}
}
