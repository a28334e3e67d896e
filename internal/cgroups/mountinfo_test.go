package cgroups

import (
	"errors"
	"strings"
	"testing"
)

const hybridMountinfo = `27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
30 29 0:26 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:27 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
32 30 0:28 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
33 30 0:29 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
34 30 0:30 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory
35 30 0:31 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
36 30 0:32 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`

const comountedMountinfo = `31 30 0:27 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
33 30 0:29 / /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset
34 30 0:30 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
35 30 0:31 / /sys/fs/cgroup/with\040space rw - cgroup cgroup rw,pids
`

const unifiedMountinfo = `27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
30 29 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate
`

func TestParseMountinfo(t *testing.T) {
	h, err := parseMountinfo(strings.NewReader(hybridMountinfo))
	if err != nil {
		t.Fatal(err)
	}
	if h.Version() != V1 || h.v1["memory"] != "/sys/fs/cgroup/memory" || h.v1["cpuacct"] != "/sys/fs/cgroup/cpuacct" ||
		h.unified != "/sys/fs/cgroup/unified" || h.Mountpoint() != "/sys/fs/cgroup/memory" {
		t.Fatalf("hybrid host: %+v", h)
	}
	if h.v1["pids"] != "" {
		t.Fatalf("pids not mounted, got %q", h.v1["pids"])
	}
	if err := h.Check(); err != nil {
		t.Fatalf("check: %v", err)
	}

	h, err = parseMountinfo(strings.NewReader(comountedMountinfo))
	if err != nil {
		t.Fatal(err)
	}
	if h.v1["cpu"] != "/sys/fs/cgroup/cpu,cpuacct" || h.v1["cpu"] != h.v1["cpuacct"] || h.v1["pids"] != "/sys/fs/cgroup/with space" {
		t.Fatalf("co-mounted: %+v", h.v1)
	}
	if got := uniqueMounts(h.v1); len(got) != 4 {
		t.Fatalf("unique mounts %v", got)
	}

	h, err = parseMountinfo(strings.NewReader(unifiedMountinfo))
	if err != nil || h.Version() != V2 || h.Mountpoint() != "/sys/fs/cgroup" {
		t.Fatalf("unified host: %+v %v", h, err)
	}

	if _, err := parseMountinfo(strings.NewReader("27 1 254:0 / / rw - ext4 /dev/vda rw\n")); !errors.Is(err, ErrNoCgroups) {
		t.Fatalf("no cgroups: %v", err)
	}
}

func TestCheckReportsMissingV1Controllers(t *testing.T) {
	h := &Host{version: V1, v1: map[string]string{"memory": "/m", "cpu": "/c"}}
	err := h.Check()
	if err == nil || !strings.Contains(err.Error(), "cpuacct, cpuset") {
		t.Fatalf("check: %v", err)
	}
}

func TestParseVersion(t *testing.T) {
	for _, v := range []Version{V1, V2} {
		got, err := ParseVersion(v.String())
		if err != nil || got != v {
			t.Fatalf("round trip %v: %v %v", v, got, err)
		}
	}
	if _, err := ParseVersion("3"); err == nil {
		t.Fatal("version 3 accepted")
	}
}

func TestRefValidation(t *testing.T) {
	h := &Host{version: V1, v1: map[string]string{"memory": "/m"}}
	for _, ref := range []Ref{
		{Version: V1, Parent: "roam", Name: "../x"},
		{Version: V1, Parent: "/abs", Name: "x"},
		{Version: V1, Parent: "roam", Name: "a/b"},
		{Version: V1, Parent: "roam", Name: ""},
		{Version: V2, Parent: "roam", Name: "x"},
	} {
		if _, err := h.Open(ref); err == nil {
			t.Errorf("Open(%+v) accepted", ref)
		}
	}
}
