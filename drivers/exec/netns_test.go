package exec

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/roam-sh/roam/drivers"
)

// TestTaskJoinsNetworkNamespace: with a NetworkIsolation path (bridge mode)
// the isolated task runs in that network namespace, and its HostsConfig
// hostname is set in its UTS namespace.
func TestTaskJoinsNetworkNamespace(t *testing.T) {
	d := newDriver(t)
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("iproute2 not installed")
	}
	name := fmt.Sprintf("roam-test-%d", time.Now().UnixNano())
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Skipf("cannot create a network namespace: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	path := filepath.Join("/var/run/netns", name)
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	cfg := taskConfig(t, sh(`readlink /proc/self/ns/net; hostname`))
	cfg.NetworkIsolation = &drivers.NetworkIsolationSpec{
		Mode: drivers.NetIsolationModeGroup, Path: path, HostsConfig: &drivers.HostsConfig{Hostname: "web-1234"},
	}
	lines := strings.Fields(runOK(t, d, cfg))
	if want := fmt.Sprintf("net:[%d]", st.Ino); len(lines) != 2 || lines[0] != want || lines[1] != "web-1234" {
		t.Fatalf("task netns/hostname %v, want %s web-1234", lines, want)
	}
}
