package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roam-sh/roam/netns/nstest"
)

// scripts/cluster-netns.sh, as docs/cluster.md tells operators to run it:
// up forms a three-server cluster across three namespaces (server members
// through it lists three alive servers, one leader, on the namespaces'
// addresses), and down leaves no namespace, link, firewall rule, directory
// or process behind.
func TestClusterNetnsScript(t *testing.T) {
	nstest.RequireRoot(t)
	script, err := filepath.Abs("../scripts/cluster-netns.sh")
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	name := "cn" + hex.EncodeToString(b)
	subnet := fmt.Sprintf("10.98.%d", 100+int(b[0])%100)
	run := func(args ...string) (string, error) {
		out, err := exec.Command(script, append(args, "-name", name)...).CombinedOutput()
		return string(out), err
	}
	t.Cleanup(func() { _, _ = run("down") })

	out, err := run("up", "-roam", roamBin, "-subnet", subnet)
	if err != nil {
		t.Fatalf("up: %v\n%s", err, out)
	}
	state, err := os.ReadFile("/tmp/roam-netns-" + name + "/state")
	if err != nil {
		t.Fatal(err)
	}
	var pids []string
	for _, line := range strings.Split(string(state), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "pid" {
			pids = append(pids, f[1])
		}
	}
	cmd := exec.Command(roamBin, "server", "members")
	cmd.Env = append(os.Environ(), "NOMAD_ADDR=http://"+subnet+".12:4646")
	membersOut, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("server members through server2: %v\n%s", err, membersOut)
	}
	alive, leaders := 0, 0
	for _, line := range strings.Split(string(membersOut), "\n") {
		f := strings.Fields(line)
		if len(f) >= 5 && strings.HasPrefix(f[1], subnet+".") && f[3] == "alive" {
			alive++
			if f[4] == "true" {
				leaders++
			}
		}
	}
	if alive != 3 || leaders != 1 {
		t.Fatalf("want 3 alive servers on %s.x and one leader:\n%s", subnet, membersOut)
	}

	if out, err := run("down"); err != nil {
		t.Fatalf("down: %v\n%s", err, out)
	}
	ns, _ := exec.Command("ip", "netns", "list").Output()
	links, _ := exec.Command("ip", "-o", "link").Output()
	rules, _ := exec.Command("iptables", "-S", "FORWARD").Output()
	for what, out := range map[string][]byte{"namespace": ns, "link": links, "iptables rule": rules} {
		if strings.Contains(string(out), name) {
			t.Errorf("a %s of %s is left after down:\n%s", what, name, out)
		}
	}
	if _, err := os.Stat("/tmp/roam-netns-" + name); !os.IsNotExist(err) {
		t.Errorf("the state dir is left after down: %v", err)
	}
	for _, pid := range pids {
		if exe, err := os.Readlink("/proc/" + pid + "/exe"); err == nil && exe == roamBin {
			t.Errorf("agent pid %s still runs after down", pid)
		}
	}
}
