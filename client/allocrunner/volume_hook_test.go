package allocrunner

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roam-sh/roam/client/taskrunner"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

func volumeAlloc(vols map[string]*structs.VolumeRequest) *structs.Allocation {
	a := alloc(structs.JobTypeBatch, task("web", "true"))
	a.Name = "job.g[2]"
	a.Job.TaskGroups[0].Volumes = vols
	return a
}

func TestVolumeHookResolvesHostVolumes(t *testing.T) {
	data, logs := t.TempDir(), t.TempDir()
	node := &structs.Node{HostVolumes: map[string]*structs.ClientHostVolumeConfig{
		"data":    {Name: "data", Path: data},
		"logs[2]": {Name: "logs[2]", Path: logs, ReadOnly: true},
	}}
	a := volumeAlloc(map[string]*structs.VolumeRequest{
		"d": {Type: "host", Source: "data"},
		"l": {Type: "host", Source: "logs", PerAlloc: true},
	})
	res := &taskrunner.AllocHookResources{}
	if err := newVolumeHook(a, node, res, testutil.Logger(t)).Prerun(context.Background(), &PrerunRequest{}, &PrerunResponse{}); err != nil {
		t.Fatal(err)
	}
	if v := res.HostVolume("d"); v == nil || v.Path != data || v.ReadOnly {
		t.Fatalf("volume d: %+v", v)
	}
	// per_alloc picks "<source>[<index>]"; read-only at the client wins.
	if v := res.HostVolume("l"); v == nil || v.Path != logs || v.Source != "logs[2]" || !v.ReadOnly {
		t.Fatalf("volume l: %+v", v)
	}
}

func TestVolumeHookErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	node := &structs.Node{HostVolumes: map[string]*structs.ClientHostVolumeConfig{
		"gone": {Path: "/no/such/dir/for/roam"}, "file": {Path: file},
	}}
	for _, tc := range []struct {
		req  *structs.VolumeRequest
		want string
	}{
		{&structs.VolumeRequest{Type: "host", Source: "nope"}, `host volume "nope" is not configured on this client`},
		{&structs.VolumeRequest{Type: "host", Source: "gone"}, "/no/such/dir/for/roam: no such file or directory"},
		{&structs.VolumeRequest{Type: "host", Source: "file"}, "is not a directory"},
		{&structs.VolumeRequest{Type: "csi", Source: "x"}, `type "csi" is not supported`},
	} {
		a := volumeAlloc(map[string]*structs.VolumeRequest{"v": tc.req})
		err := newVolumeHook(a, node, &taskrunner.AllocHookResources{}, testutil.Logger(t)).Prerun(context.Background(), &PrerunRequest{}, &PrerunResponse{})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `volume "v"`) {
			t.Errorf("%+v: %v, want %q", tc.req, err, tc.want)
		}
	}
}

// TestMissingHostVolumeFailsTasks: the allocation cannot start; each task
// records a Setup Failure naming the volume and is failed.
func TestMissingHostVolumeFailsTasks(t *testing.T) {
	e := newEnv(t)
	a := volumeAlloc(map[string]*structs.VolumeRequest{"v": {Type: "host", Source: "data"}})
	cfg := e.config(a)
	cfg.Node.HostVolumes = map[string]*structs.ClientHostVolumeConfig{"data": {Path: "/no/such/dir/for/roam"}}
	ar := e.start(cfg)
	waitDone(t, ar)
	st := ar.TaskStates()["web"]
	if !st.Failed {
		t.Fatalf("task not failed: %+v", st)
	}
	var found bool
	for _, ev := range st.Events {
		if ev.Type == structs.TaskSetupFailure && strings.Contains(ev.DisplayMessage, `volume "v"`) &&
			strings.Contains(ev.DisplayMessage, "/no/such/dir/for/roam") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no Setup Failure naming the volume: %s", describeAlloc(ar))
	}
}
