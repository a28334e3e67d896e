package docker

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/client"
	"golang.org/x/sys/unix"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/internal/confine"
)

// imageAPI is the part of the Docker client the image code uses. It is an
// interface so that tests can stand in for a registry, which cannot run in
// the test environment.
type imageAPI interface {
	ImageInspect(ctx context.Context, ref string, opts ...client.ImageInspectOption) (client.ImageInspectResult, error)
	ImagePull(ctx context.Context, ref string, opts client.ImagePullOptions) (client.ImagePullResponse, error)
	ImageLoad(ctx context.Context, r io.Reader, opts ...client.ImageLoadOption) (client.ImageLoadResult, error)
}

var _ imageAPI = (*client.Client)(nil)

// ensureImage makes the task's image available within the plugin's
// pull_timeout, or sooner when the call's ctx ends.
func (d *Driver) ensureImage(callCtx context.Context, cfg *drivers.TaskConfig, tc *TaskConfig) error {
	ctx, cancel := context.WithTimeout(callCtx, d.cfg.Plugin.PullTimeout)
	defer cancel()
	return d.images().ensure(ctx, cfg, tc)
}

func (d *Driver) images() images { return images{api: d.api, logger: d.logger} }

// images finds, loads and pulls task images.
type images struct {
	api    imageAPI
	logger *slog.Logger
}

// ensure uses the local image when there is one (unless force_pull), else
// loads the `load` tarball, else pulls from the image's registry, as Nomad
// does. A pull failure is recoverable: the registry may come back.
func (im images) ensure(ctx context.Context, cfg *drivers.TaskConfig, tc *TaskConfig) error {
	if !tc.ForcePull {
		present, err := im.present(ctx, tc.Image)
		if err != nil || present {
			return err
		}
	}
	if tc.Load != "" {
		return im.load(ctx, cfg, tc)
	}
	return im.pull(ctx, tc)
}

// present reports whether ref is in the daemon's image store.
func (im images) present(ctx context.Context, ref string) (bool, error) {
	_, err := im.api.ImageInspect(ctx, ref)
	switch {
	case err == nil:
		return true, nil
	case cerrdefs.IsNotFound(err):
		return false, nil
	}
	return false, drivers.NewRecoverableError(fmt.Errorf("inspect image %q: %w", ref, err))
}

// load loads the `load` tarball and checks that it held the task's image.
func (im images) load(ctx context.Context, cfg *drivers.TaskConfig, tc *TaskConfig) error {
	path, err := loadPath(cfg, tc.Load)
	if err != nil {
		return err
	}
	im.logger.Info("loading image", "image", tc.Image, "path", path)
	if err := loadFile(ctx, im.api, cfg.AllocDir, path); err != nil {
		return err
	}
	present, err := im.present(ctx, tc.Image)
	if err != nil {
		return err
	}
	if !present {
		return fmt.Errorf("load %s: the archive does not hold image %q", tc.Load, tc.Image)
	}
	return nil
}

// loadPath resolves `load` from the task's local/ dir, where artifacts
// land (Nomad's rule, so job files written for Nomad find their tarball).
// It must stay inside the allocation dir.
func loadPath(cfg *drivers.TaskConfig, load string) (string, error) {
	p := filepath.Join(cfg.TaskDir.LocalDir, load)
	rel, err := filepath.Rel(cfg.AllocDir, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("load: %q leaves the allocation dir", load)
	}
	return p, nil
}

// pull pulls the task's image, reporting a failure as the task's.
func (im images) pull(ctx context.Context, tc *TaskConfig) error {
	im.logger.Info("pulling image", "image", tc.Image, "force_pull", tc.ForcePull, "auth", tc.Auth != nil)
	err := im.pullWithAuth(ctx, tc)
	switch {
	case err == nil:
		return nil
	case tc.ForcePull:
		return drivers.NewRecoverableError(fmt.Errorf("force_pull: image %q could not be pulled from its registry: %w", tc.Image, err))
	}
	return drivers.NewRecoverableError(fmt.Errorf("image %q is not present locally and could not be pulled from its registry: %w", tc.Image, err))
}

// pullWithAuth pulls with the task's credentials. With auth_soft_fail a
// pull they fail is tried once more without them: the image may be public
// while the credentials are wrong, expired or meant for another registry.
func (im images) pullWithAuth(ctx context.Context, tc *TaskConfig) error {
	auth, err := tc.Auth.registryAuth()
	if err != nil {
		return err
	}
	err = im.pullOnce(ctx, tc.Image, auth)
	if err == nil || auth == "" || !tc.AuthSoftFail {
		return err
	}
	im.logger.Warn("pull with the task's registry credentials failed; trying without them (auth_soft_fail)", "image", tc.Image, "error", err)
	if anonErr := im.pullOnce(ctx, tc.Image, ""); anonErr != nil {
		return fmt.Errorf("with the task's credentials: %w; without them: %w", err, anonErr)
	}
	return nil
}

// pullOnce pulls ref; errors reported inside the progress stream count.
func (im images) pullOnce(ctx context.Context, ref, auth string) error {
	rc, err := im.api.ImagePull(ctx, ref, client.ImagePullOptions{RegistryAuth: auth})
	if err != nil {
		return err
	}
	defer rc.Close()
	return streamError(rc)
}

// registryAuth is the X-Registry-Auth value of the credentials: base64url
// JSON of Docker's AuthConfig, as the API's authconfig.Encode writes it,
// with Nomad's "email" beside it (the API types dropped the field; daemons
// since API 1.23 ignore it). "" without credentials.
func (a *Auth) registryAuth() (string, error) {
	if a == nil || *a == (Auth{}) {
		return "", nil
	}
	buf, err := json.Marshal(struct {
		registry.AuthConfig
		Email string `json:"email,omitempty"`
	}{
		AuthConfig: registry.AuthConfig{Username: a.Username, Password: a.Password, ServerAddress: a.ServerAddress},
		Email:      a.Email,
	})
	if err != nil {
		return "", fmt.Errorf("auth: %w", err)
	}
	return base64.URLEncoding.EncodeToString(buf), nil
}

// loadFile loads a `docker save` tarball at path, opened beneath allocDir
// (a task may have planted a symlink since loadPath looked) and only if it
// is a regular file (a FIFO would hang the start, a device leak the host's).
func loadFile(ctx context.Context, api imageAPI, allocDir, path string) error {
	rel, ok := confine.Rel(allocDir, path)
	if !ok {
		return fmt.Errorf("load: %q leaves the allocation dir", path)
	}
	f, err := confine.OpenFile(allocDir, rel, unix.O_RDONLY|unix.O_NONBLOCK, 0, confine.Beneath)
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return fmt.Errorf("load %s: not a regular file", path)
	}
	// Not a task's private/ file (roam's own), wherever links led.
	if err := confine.NotAgentOwned(allocDir, f, ""); err != nil {
		return fmt.Errorf("load: %w", err)
	}
	if err := loadArchive(ctx, api, f); err != nil {
		return fmt.Errorf("load %s: %w", path, err)
	}
	return nil
}

// loadArchive sends an image archive to the daemon and reads its answer.
func loadArchive(ctx context.Context, api imageAPI, r io.Reader) error {
	resp, err := api.ImageLoad(ctx, r, client.ImageLoadWithQuiet(true))
	if err != nil {
		return err
	}
	defer resp.Close()
	return streamError(resp)
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
