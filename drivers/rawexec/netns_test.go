package rawexec

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/roam-sh/roam/drivers"
)

// TestTaskJoinsNetworkNamespace: with a NetworkIsolation path the executor
// starts the task inside that namespace.
func TestTaskJoinsNetworkNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
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

	d := newDriver(t, true)
	cfg := taskConfig(t, sh(`readlink /proc/self/ns/net`))
	cfg.NetworkIsolation = &drivers.NetworkIsolationSpec{Mode: drivers.NetIsolationModeGroup, Path: path}
	start(t, d, cfg)
	if res := waitExit(t, d, cfg.ID, 10*time.Second); !res.Successful() {
		t.Fatalf("exit %+v", res)
	}
	out, _ := os.ReadFile(cfg.StdoutPath)
	if want := fmt.Sprintf("net:[%d]", st.Ino); strings.TrimSpace(string(out)) != want {
		t.Fatalf("task namespace %q, want %q", out, want)
	}
}
