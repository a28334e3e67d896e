package netns_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roam-sh/roam/netns"
	"github.com/roam-sh/roam/netns/nstest"
	"github.com/roam-sh/roam/testutil"
)

// TestCNIWithDebianPlugins: bridge + host-local + portmap from Debian's
// containernetworking-plugins; the port is reachable through portmap, a
// second client process re-attaches (CHECK, cached result, same address),
// and DEL removes the interface.
func TestCNIWithDebianPlugins(t *testing.T) {
	nstest.RequireRoot(t)
	if _, err := os.Stat("/usr/lib/cni/portmap"); err != nil {
		t.Skip("containernetworking-plugins not installed (scripts/test-setup.sh)")
	}
	br := "rc" + nstest.RandHex(3)
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", br).Run() })
	dir := t.TempDir()
	conf := fmt.Sprintf(`{"cniVersion":"0.4.0","name":"unit","plugins":[{"type":"loopback"},
 {"type":"bridge","bridge":%q,"isGateway":true,"ipMasq":true,"ipam":{"type":"host-local","ranges":[[{"subnet":"10.196.3.0/24"}]],"routes":[{"dst":"0.0.0.0/0"}],"dataDir":%q}},
 {"type":"portmap","capabilities":{"portMappings":true},"snat":true}]}`, br, t.TempDir())
	if err := os.WriteFile(filepath.Join(dir, "unit.conflist"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	c := netns.NewCNI("/usr/lib/cni", dir, "eth", testutil.Logger(t))
	if nets, _ := c.Networks(); nets["unit"] == "" {
		t.Fatalf("networks %v", nets)
	}
	id := nstest.UUID()
	path := netns.NamedPath(id)
	if _, err := netns.Create(path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = netns.Delete(path) })
	port := nstest.FreePort(t, 40000, 45000)
	req := &netns.Request{AllocID: id, NSPath: path, Ports: []netns.PortMapping{{Label: "http", HostIP: "127.0.0.1", HostPort: port, ContainerPort: 8080}}}
	st, err := c.Setup(context.Background(), "unit", req)
	if err != nil {
		t.Fatal(err)
	}
	if st.InterfaceName != "eth0" || st.Address.String()[:9] != "10.196.3." {
		t.Fatalf("status %+v", st)
	}
	nstest.ServeTCP(t, path, ":8080", "cni")
	if got, err := nstest.ReadTCP("", fmt.Sprintf("127.0.0.1:%d", port)); err != nil || got != "cni" {
		t.Fatalf("through portmap: %q %v", got, err)
	}
	again, err := netns.NewCNI("/usr/lib/cni", dir, "eth", testutil.Logger(t)).Restore(context.Background(), "unit", req)
	if err != nil || again.Address != st.Address {
		t.Fatalf("restore: %+v %v, want %s", again, err, st.Address)
	}
	if err := c.Teardown(context.Background(), "unit", req); err != nil {
		t.Fatal(err)
	}
	if out := nstest.Cmd(t, "ip", "-n", id, "-o", "link"); len(out) == 0 || strings.Contains(out, "eth0") {
		t.Fatalf("eth0 left after DEL:\n%s", out)
	}
}
