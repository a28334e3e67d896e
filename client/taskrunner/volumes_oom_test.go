package taskrunner

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/drivers/exec"
	"github.com/roam-sh/roam/drivers/exec/exectest"
	"github.com/roam-sh/roam/drivers/executor/executortest"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

func TestTaskMounts(t *testing.T) {
	res := &AllocHookResources{}
	res.SetHostVolumes(map[string]*HostVolume{
		"data": {Name: "data", Path: "/srv/data"},
		"conf": {Name: "conf", Path: "/srv/conf", ReadOnly: true},
	})
	task := &structs.Task{VolumeMounts: []*structs.VolumeMount{
		{Volume: "data", Destination: "/var/lib/data", PropagationMode: "private"},
		{Volume: "conf", Destination: "/etc/app"},
		{Volume: "data", Destination: "/ro-data", ReadOnly: true},
	}}
	got, err := taskMounts(task, res)
	if err != nil {
		t.Fatal(err)
	}
	want := []*drivers.MountConfig{
		{TaskPath: "/var/lib/data", HostPath: "/srv/data", PropagationMode: "private"},
		{TaskPath: "/etc/app", HostPath: "/srv/conf", Readonly: true},
		{TaskPath: "/ro-data", HostPath: "/srv/data", Readonly: true},
	}
	if !slices.EqualFunc(got, want, func(a, b *drivers.MountConfig) bool { return *a == *b }) {
		t.Fatalf("mounts %+v", got)
	}
	task.VolumeMounts = append(task.VolumeMounts, &structs.VolumeMount{Volume: "missing", Destination: "/x"})
	if _, err := taskMounts(task, res); err == nil || !strings.Contains(err.Error(), `volume "missing" was not prepared`) {
		t.Fatalf("missing volume: %v", err)
	}
}

// TestRawExecGetsNoMounts: raw_exec cannot mount; the hook hands it none.
func TestRawExecGetsNoMounts(t *testing.T) {
	res := &AllocHookResources{}
	res.SetHostVolumes(map[string]*HostVolume{"data": {Path: "/srv/data"}})
	var got []*drivers.MountConfig
	got = append(got, &drivers.MountConfig{}) // must be replaced
	h := newVolumesHook(res, newRawExec(t), func(m []*drivers.MountConfig) { got = m }, testutil.Logger(t))
	req := &PrestartRequest{Task: &structs.Task{VolumeMounts: []*structs.VolumeMount{{Volume: "data", Destination: "/d"}}}}
	if err := h.Prestart(context.Background(), req, &PrestartResponse{}); err != nil || got != nil {
		t.Fatalf("raw_exec mounts %+v %v", got, err)
	}
}

func TestExitEvents(t *testing.T) {
	evs := exitEvents(&drivers.ExitResult{ExitCode: 137, Signal: 9, OOMKilled: true})
	if len(evs) != 2 || evs[0].Type != structs.TaskOOMKilled || evs[1].Type != structs.TaskTerminated || evs[1].Message != "OOM Killed" {
		t.Fatalf("events %+v", evs)
	}
	if evs := exitEvents(&drivers.ExitResult{ExitCode: 1}); len(evs) != 1 || evs[0].Type != structs.TaskTerminated {
		t.Fatalf("events %+v", evs)
	}
}

// TestOOMKilledEvent: an exec task over its memory limit ends with the OOM
// Killed event and a Terminated event that says so.
func TestOOMKilledEvent(t *testing.T) {
	host := exectest.RequireIsolation(t)
	d := exec.New(exec.Config{CgroupParent: exectest.CgroupParent(t, host), Executor: executortest.Binary(), Logger: testutil.Logger(t)})
	t.Cleanup(d.Shutdown)
	a := testAlloc(structs.JobTypeBatch, "head -c 200M /dev/zero | tail")
	task := a.Job.TaskGroups[0].Tasks[0]
	task.Driver, task.Resources.MemoryMB = "exec", 32
	h := newHarness(t, a)
	h.driver = d
	tr := h.run(h.config())
	tr.AllowStart()
	st := waitDead(t, tr)
	var oom, term *structs.TaskEvent
	for _, ev := range st.Events {
		switch ev.Type {
		case structs.TaskOOMKilled:
			oom = ev
		case structs.TaskTerminated:
			term = ev
		}
	}
	if oom == nil || term == nil || !strings.Contains(term.DisplayMessage, `Exit Message: "OOM Killed"`) || !st.Failed {
		t.Fatalf("events: %s", describe(st))
	}
}

// TestVolumeMountReachesDriver: a task's volume_mount arrives in the
// driver's task config.
func TestVolumeMountReachesDriver(t *testing.T) {
	host := exectest.RequireIsolation(t)
	d := exec.New(exec.Config{CgroupParent: exectest.CgroupParent(t, host), Executor: executortest.Binary(), Logger: testutil.Logger(t)})
	t.Cleanup(d.Shutdown)
	vol := t.TempDir()
	if err := os.Chmod(vol, 0o777); err != nil {
		t.Fatal(err)
	}
	a := testAlloc(structs.JobTypeBatch, "echo from-task > /data/out")
	task := a.Job.TaskGroups[0].Tasks[0]
	task.Driver = "exec"
	task.VolumeMounts = []*structs.VolumeMount{{Volume: "v", Destination: "/data"}}
	h := newHarness(t, a)
	h.driver = d
	cfg := h.config()
	cfg.HookResources = &AllocHookResources{}
	cfg.HookResources.SetHostVolumes(map[string]*HostVolume{"v": {Name: "v", Path: vol}})
	tr := h.run(cfg)
	tr.AllowStart()
	if st := waitDead(t, tr); st.Failed {
		t.Fatalf("task failed: %s", describe(st))
	}
	if b, err := os.ReadFile(filepath.Join(vol, "out")); err != nil || string(b) != "from-task\n" {
		t.Fatalf("volume content %q %v", b, err)
	}
}
