package docker

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/authconfig"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/drivers/docker/dockertest"
	"github.com/roam-sh/roam/testutil"
)

// `load` names a tarball in the task's local/ dir, loaded only when the
// image is absent.
func TestLoadFromLocalDir(t *testing.T) {
	img := progImage(t)
	api := dockertest.Require(t)
	d := newDriver(t, nil)
	ctx := context.Background()
	// A second name of the test image: removing it leaves the test image.
	tag := "roam-test/load:" + dockertest.Unique("t")
	if _, err := api.ImageTag(ctx, client.ImageTagOptions{Source: img, Target: tag}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = api.ImageRemove(context.Background(), tag, client.ImageRemoveOptions{}) })
	config := map[string]any{"image": tag, "load": "img.tar", "args": []any{"exit", "0"}}

	cfg := taskCfg(t, "loaded", config)
	saveImage(t, api, tag, filepath.Join(cfg.TaskDir.LocalDir, "img.tar"))
	if _, err := api.ImageRemove(ctx, tag, client.ImageRemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	if dockertest.ImageExists(t, api, tag) {
		t.Fatalf("image %s still present", tag)
	}
	start(t, d, cfg)
	if res := waitExit(t, d, cfg.ID, 30*time.Second); !res.Successful() {
		t.Fatalf("exit %+v", res)
	}

	again := taskCfg(t, "present", config) // no img.tar in its local/
	start(t, d, again)
	if res := waitExit(t, d, again.ID, 30*time.Second); !res.Successful() {
		t.Fatalf("exit %+v", res)
	}
}

func saveImage(t *testing.T, api *client.Client, ref, path string) {
	t.Helper()
	rc, err := api.ImageSave(context.Background(), []string{ref})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.Copy(f, rc); err != nil {
		t.Fatalf("save %s: %v", ref, err)
	}
}

// fakeImages is the daemon's image API in front of a registry. A fake,
// because no registry can run in the test environment (no registry image,
// no network); the local store and `load` are tested on the real engine.
type fakeImages struct {
	present map[string]bool
	// accepts says whether the registry serves the image to a pull with
	// this X-Registry-Auth ("" is anonymous).
	accepts func(auth string) bool
	// inStream reports refusals inside the progress stream, as daemons do
	// for some registry errors, instead of as the call's error.
	inStream bool
	// archive is the image a loaded tarball holds.
	archive string

	pulls []string // the X-Registry-Auth of each pull
	loads int
}

func (f *fakeImages) ImageInspect(_ context.Context, ref string, _ ...client.ImageInspectOption) (client.ImageInspectResult, error) {
	if f.present[ref] {
		return client.ImageInspectResult{InspectResponse: image.InspectResponse{ID: "sha256:" + ref}}, nil
	}
	return client.ImageInspectResult{}, fmt.Errorf("no such image %s: %w", ref, cerrdefs.ErrNotFound)
}

func (f *fakeImages) ImagePull(_ context.Context, ref string, opts client.ImagePullOptions) (client.ImagePullResponse, error) {
	f.pulls = append(f.pulls, opts.RegistryAuth)
	switch {
	case f.accepts(opts.RegistryAuth):
		f.present[ref] = true
		return progress(`{"status":"Pulling"}` + "\n" + `{"status":"Downloaded"}`), nil
	case f.inStream:
		return progress(`{"status":"Pulling"}` + "\n" + `{"error":"unauthorized: authentication required"}`), nil
	}
	return nil, fmt.Errorf("pull access denied for %s: %w", ref, cerrdefs.ErrUnauthenticated)
}

func (f *fakeImages) ImageLoad(_ context.Context, r io.Reader, _ ...client.ImageLoadOption) (client.ImageLoadResult, error) {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return nil, err
	}
	f.loads++
	f.present[f.archive] = true
	return io.NopCloser(strings.NewReader(`{"stream":"Loaded image"}`)), nil
}

// progressStream is a pull's progress stream as the daemon sends it; the
// driver reads it as a plain stream.
type progressStream struct{ io.ReadCloser }

func progress(s string) progressStream {
	return progressStream{io.NopCloser(strings.NewReader(s))}
}

func (progressStream) JSONMessages(context.Context) iter.Seq2[jsonstream.Message, error] {
	panic("the driver reads the progress stream itself")
}

func (progressStream) Wait(context.Context) error {
	panic("the driver reads the progress stream itself")
}

func TestImagePullDecision(t *testing.T) {
	creds := map[string]any{"username": "u", "password": "p", "email": "u@example.com", "server_address": "registry.example.com"}
	withCreds := func(a string) bool { return a != "" }
	public := func(string) bool { return true }
	anonymousOnly := func(a string) bool { return a == "" }
	nobody := func(string) bool { return false }
	cases := []struct {
		name     string
		config   map[string]any
		present  bool
		accepts  func(string) bool
		inStream bool
		wantAuth []bool // per pull: were the credentials sent
		wantErr  string
	}{
		{name: "present: used as it is", config: map[string]any{"auth": creds}, present: true, accepts: nobody},
		{name: "absent: pulled with the credentials", config: map[string]any{"auth": creds}, accepts: withCreds, wantAuth: []bool{true}},
		{name: "force_pull pulls a present image", config: map[string]any{"force_pull": true}, present: true, accepts: public, wantAuth: []bool{false}},
		{name: "no auth block: anonymous", config: map[string]any{}, accepts: anonymousOnly, wantAuth: []bool{false}},
		{
			name: "refused credentials fail the pull", config: map[string]any{"auth": creds}, accepts: anonymousOnly,
			wantAuth: []bool{true}, wantErr: "is not present locally and could not be pulled from its registry: pull access denied",
		},
		{
			name: "auth_soft_fail: tried again without them", config: map[string]any{"auth": creds, "auth_soft_fail": true},
			accepts: anonymousOnly, wantAuth: []bool{true, false},
		},
		{
			name: "auth_soft_fail: refusal in the stream counts", config: map[string]any{"auth": creds, "auth_soft_fail": true},
			accepts: anonymousOnly, inStream: true, wantAuth: []bool{true, false},
		},
		{
			name: "auth_soft_fail: both refused", config: map[string]any{"auth": creds, "auth_soft_fail": true}, accepts: nobody,
			wantAuth: []bool{true, false}, wantErr: "is not present locally and could not be pulled from its registry: with the task's credentials",
		},
		{
			name: "auth_soft_fail without credentials: no second pull", config: map[string]any{"auth_soft_fail": true}, accepts: nobody,
			wantAuth: []bool{false}, wantErr: "is not present locally and could not be pulled",
		},
		{
			name: "force_pull failure says so", config: map[string]any{"auth": creds, "force_pull": true}, present: true, accepts: nobody,
			wantAuth: []bool{true}, wantErr: "force_pull: image",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.config["image"] = "registry.example.com/app:1"
			cfg := pureTask(c.config)
			f := &fakeImages{present: map[string]bool{"registry.example.com/app:1": c.present}, accepts: c.accepts, inStream: c.inStream}
			err := ensureWithFake(t, f, cfg)
			if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
				t.Fatalf("error %v, want %q", err, c.wantErr)
			}
			if err != nil && !drivers.IsRecoverable(err) {
				t.Errorf("a failed pull should be recoverable: %v", err)
			}
			var sent []bool
			for _, a := range f.pulls {
				sent = append(sent, a != "")
				if a != "" {
					checkRegistryAuth(t, a)
				}
			}
			if !slices.Equal(sent, c.wantAuth) {
				t.Fatalf("pulls with credentials %v, want %v", sent, c.wantAuth)
			}
		})
	}
}

func ensureWithFake(t *testing.T, f *fakeImages, cfg *drivers.TaskConfig) error {
	t.Helper()
	pc, _ := ParsePluginConfig(nil)
	tc, err := decodeTaskConfig(cfg, &pc)
	if err != nil {
		t.Fatal(err)
	}
	return images{api: f, logger: testutil.Logger(t)}.ensure(context.Background(), cfg, tc)
}

// checkRegistryAuth decodes X-Registry-Auth as the daemon does, and the
// email beside it, which the API types no longer carry.
func checkRegistryAuth(t *testing.T, auth string) {
	t.Helper()
	got, err := authconfig.Decode(auth)
	if err != nil {
		t.Fatalf("X-Registry-Auth %q: %v", auth, err)
	}
	raw, err := base64.URLEncoding.DecodeString(auth)
	if err != nil {
		t.Fatal(err)
	}
	var email struct{ Email string }
	if err := json.Unmarshal(raw, &email); err != nil {
		t.Fatal(err)
	}
	if got.Username != "u" || got.Password != "p" || email.Email != "u@example.com" || got.ServerAddress != "registry.example.com" {
		t.Fatalf("credentials sent %+v, email %q", got, email.Email)
	}
}

// `load` comes before the registry, and only for an absent image; the
// tarball is found in the task's local/ dir.
func TestImageLoadDecision(t *testing.T) {
	root := t.TempDir()
	cfg := pureTask(map[string]any{"image": "app:1", "load": "app.tar"})
	cfg.AllocDir, cfg.TaskDir.Dir, cfg.TaskDir.LocalDir = root, filepath.Join(root, "web"), filepath.Join(root, "web", "local")
	f := &fakeImages{present: map[string]bool{"app:1": true}, accepts: func(string) bool { return false }, archive: "app:1"}
	if err := ensureWithFake(t, f, cfg); err != nil || f.loads != 0 {
		t.Fatalf("image present: %v, %d loads, want none (the file need not exist)", err, f.loads)
	}

	f.present = map[string]bool{}
	err := ensureWithFake(t, f, cfg)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(cfg.TaskDir.LocalDir, "app.tar")) {
		t.Fatalf("missing tarball: %v, want its path in local/", err)
	}
	if err := os.MkdirAll(cfg.TaskDir.LocalDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfg.TaskDir.LocalDir, "app.tar"), []byte("archive"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ensureWithFake(t, f, cfg); err != nil || f.loads != 1 || len(f.pulls) != 0 {
		t.Fatalf("absent image: %v, %d loads, %d pulls; want one load", err, f.loads, len(f.pulls))
	}

	f.present, f.archive = map[string]bool{}, "other:2"
	if err := ensureWithFake(t, f, cfg); err == nil || !strings.Contains(err.Error(), `does not hold image "app:1"`) {
		t.Fatalf("archive of another image: %v", err)
	}
}
