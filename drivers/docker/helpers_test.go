package docker

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/drivers/docker/collector/collectortest"
	"github.com/roam-sh/roam/drivers/docker/dockertest"
	"github.com/roam-sh/roam/drivers/executor/executortest"
	"github.com/roam-sh/roam/internal/logfile"
	"github.com/roam-sh/roam/testutil"
)

func TestMain(m *testing.M) {
	collectortest.MaybeRun()
	executortest.MaybeRun() // raw_exec tasks joining a pause container's namespace
	code := m.Run()
	prog.cleanup()
	os.Exit(code)
}

// prog is the test program (testdata/prog), built once per test binary as
// a static host binary and as a scratch image, both removed by TestMain.
var prog progBuild

type progBuild struct {
	once   sync.Once
	dir    string
	path   string
	image  string
	api    *client.Client
	err    error
	loaded bool
}

// progImage returns the test program's image, building it on first use.
func progImage(t *testing.T) string {
	t.Helper()
	api := dockertest.Require(t)
	prog.once.Do(func() { prog.api = api; prog.err = buildProg(api) })
	if prog.err != nil {
		t.Fatalf("build test image: %v", prog.err)
	}
	return prog.image
}

func buildProg(api *client.Client) error {
	dir, err := os.MkdirTemp("", "roam-docker-prog-")
	if err != nil {
		return err
	}
	prog.dir, prog.path = dir, filepath.Join(dir, "prog")
	cmd := exec.Command("go", "build", "-o", prog.path, "./testdata/prog")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v: %s", err, out)
	}
	b, err := os.ReadFile(prog.path)
	if err != nil {
		return err
	}
	prog.image = "roam-test/prog:" + dockertest.Unique("t")
	a := &imageArchive{Tag: prog.image, Arch: runtime.GOARCH, Entrypoint: []string{"/prog"},
		Files: []archiveFile{{Path: "prog", Mode: 0o755, Data: b}}}
	var buf bytes.Buffer
	if err := a.write(&buf); err != nil {
		return err
	}
	if err := loadArchive(context.Background(), api, &buf); err != nil {
		return err
	}
	prog.loaded = true
	return nil
}

func (p *progBuild) cleanup() {
	if p.loaded {
		_, _ = p.api.ImageRemove(context.Background(), p.image, client.ImageRemoveOptions{Force: true, PruneChildren: true})
	}
	if p.dir != "" {
		os.RemoveAll(p.dir)
	}
}

// newDriver returns a driver whose log collectors are this test binary.
func newDriver(t *testing.T, mutate func(*PluginConfig)) *Driver {
	t.Helper()
	dockertest.Require(t)
	pc, err := ParsePluginConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	if mutate != nil {
		mutate(&pc)
	}
	d, err := New(Config{Plugin: pc, Collector: collectortest.Binary(), Logger: testutil.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Shutdown)
	return d
}

func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// taskCfg returns the config of a task of a fresh allocation, whose
// directories exist, and checks at the end that no container of the
// allocation is left.
func taskCfg(t *testing.T, name string, config map[string]any) *drivers.TaskConfig {
	t.Helper()
	api := dockertest.Require(t)
	allocID := randomID()
	root := t.TempDir()
	td := drivers.TaskDir{
		Dir: filepath.Join(root, name), SharedAllocDir: filepath.Join(root, "alloc"),
		LocalDir: filepath.Join(root, name, "local"), SecretsDir: filepath.Join(root, name, "secrets"),
		PrivateDir: filepath.Join(root, name, "private"), TmpDir: filepath.Join(root, name, "tmp"),
		LogDir: filepath.Join(root, "alloc", "logs"),
	}
	for _, d := range []string{td.LocalDir, td.SecretsDir, td.PrivateDir, td.TmpDir, td.LogDir, filepath.Join(td.SharedAllocDir, "data")} {
		if err := os.MkdirAll(d, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	dockertest.NoContainersLeft(t, api, LabelAllocID, allocID)
	return &drivers.TaskConfig{
		ID: allocID + "/" + name + "/0001", Name: name, AllocID: allocID, Namespace: "default",
		JobID: "job", JobName: "job", TaskGroup: "group",
		Env:       map[string]string{"NOMAD_ALLOC_DIR": "/alloc", "NOMAD_TASK_NAME": name},
		Resources: drivers.Resources{CPUShares: 100, MemoryMB: 64},
		Config:    config, AllocDir: root, TaskDir: td,
		StdoutPath: filepath.Join(td.LogDir, name+".stdout.0"), StderrPath: filepath.Join(td.LogDir, name+".stderr.0"),
	}
}

// start starts cfg and destroys the task at the end of the test.
func start(t *testing.T, d *Driver, cfg *drivers.TaskConfig) *drivers.TaskHandle {
	t.Helper()
	h, err := d.StartTask(context.Background(), cfg)
	if err != nil {
		t.Fatalf("start task: %v", err)
	}
	t.Cleanup(func() {
		if err := d.DestroyTask(context.Background(), cfg.ID, true); err != nil && !strings.Contains(err.Error(), "not found") {
			t.Errorf("destroy task: %v", err)
		}
	})
	return h
}

func waitExit(t *testing.T, d *Driver, id string, within time.Duration) *drivers.ExitResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	ch, err := d.WaitTask(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	res, ok := <-ch
	if !ok {
		t.Fatalf("task %s did not exit within %v", id, within)
	}
	return res
}

// readLogs is everything in the task's log files of one stream, in order.
func readLogs(t *testing.T, cfg *drivers.TaskConfig, kind logfile.Kind) string {
	t.Helper()
	base := logfile.Base(cfg.Name, kind)
	idxs, err := logfile.Indexes(cfg.TaskDir.LogDir, base)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for _, i := range idxs {
		b, err := os.ReadFile(filepath.Join(cfg.TaskDir.LogDir, logfile.Name(cfg.Name, kind, i)))
		if err != nil {
			t.Fatal(err)
		}
		out.Write(b)
	}
	return out.String()
}

// waitLog waits until the stream's logs contain want.
func waitLog(t *testing.T, cfg *drivers.TaskConfig, kind logfile.Kind, want string) {
	t.Helper()
	testutil.WaitFor(t, 20*time.Second, func() error {
		if got := readLogs(t, cfg, kind); !strings.Contains(got, want) {
			return fmt.Errorf("%s log %q does not contain %q", kind, got, want)
		}
		return nil
	})
}
