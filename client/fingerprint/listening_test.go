package fingerprint

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/roam-sh/roam/structs"
)

func TestParseSocket(t *testing.T) {
	s, ok := parseSocket("0100007F:1F90")
	if !ok || s.Addr != netip.MustParseAddr("127.0.0.1") || s.Port != 8080 {
		t.Fatalf("%+v %v", s, ok)
	}
	s, ok = parseSocket("00000000000000000000000000000000:0050")
	if !ok || !s.Addr.IsUnspecified() || s.Port != 80 {
		t.Fatalf("%+v %v", s, ok)
	}
}

func TestReserveListening(t *testing.T) {
	n := &structs.Node{NodeResources: &structs.NodeResources{NodeNetworks: []*structs.NodeNetworkResource{{Addresses: []structs.NodeNetworkAddress{
		{Alias: "default", Address: "127.0.0.1"}, {Alias: "second", Address: "127.0.0.2"},
	}}}}}
	ephLo, _ := EphemeralPorts()
	lo := netip.MustParseAddr("127.0.0.1")
	socks := []Socket{
		{Addr: lo, Port: 20001},                             // UDP in the dynamic range
		{Addr: netip.MustParseAddr("0.0.0.0"), Port: 20002}, // every address
		{Addr: lo, Port: 20003},                             // an allocation's own
		{Addr: lo, Port: 8080, TCP: true},                   // a server outside the range: a static port it holds
		{Addr: lo, Port: 5353},                              // UDP below the ephemeral range: a server
		{Addr: lo, Port: ephLo + 5},                         // UDP in the ephemeral range: a client, left out
		{Addr: lo, Port: ephLo + 6, TCP: true},              // TCP listener there: counted
	}
	base := func(alias string) string {
		if alias == "second" {
			return "22"
		}
		return ""
	}
	ReserveListening(n, socks, 20000, 32000, base, map[int]bool{20003: true})
	a := n.NodeResources.NodeNetworks[0].Addresses
	want0 := fmt.Sprintf("5353,8080,20001,20002,%d", ephLo+6)
	if a[0].ReservedPorts != want0 || a[1].ReservedPorts != "22,20002" {
		t.Fatalf("reserved %q %q, want %q and %q", a[0].ReservedPorts, a[1].ReservedPorts, want0, "22,20002")
	}
}

// TestListeningSocketsFollowCallingThreadsNamespace: the tables are read from
// the calling thread's network namespace, not the main thread's. The agent
// switches threads into allocation namespaces; when that landed on the main
// thread, /proc/net showed the allocation's namespace and host listeners
// went missing (ports handed out twice). Here the calling thread moves into
// a fresh namespace and listens there: its listener must be listed, which
// /proc/net (the main thread's view) does not show.
func TestListeningSocketsFollowCallingThreadsNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a network namespace")
	}
	type result struct {
		port  int
		found bool
		err   error
	}
	done := make(chan result, 1)
	release := make(chan struct{})
	defer close(release)
	onMain := make(chan bool, 1)
	run := func() {
		// The thread never leaves the new namespace: ending the goroutine
		// while locked discards it.
		runtime.LockOSThread()
		if unix.Gettid() == unix.Getpid() {
			// Keep the main thread busy (locked here) so that the
			// next try lands on another one.
			onMain <- true
			<-release
			runtime.UnlockOSThread()
			return
		}
		onMain <- false
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			done <- result{err: err}
			return
		}
		if err := exec.Command("ip", "link", "set", "lo", "up").Run(); err != nil {
			// ip runs in its own process, born from this thread: it is in
			// the namespace too.
			done <- result{err: fmt.Errorf("lo up: %w", err)}
			return
		}
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
		if err != nil {
			done <- result{err: err}
			return
		}
		defer unix.Close(fd)
		if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			done <- result{err: err}
			return
		}
		if err := unix.Listen(fd, 1); err != nil {
			done <- result{err: err}
			return
		}
		sa, _ := unix.Getsockname(fd)
		port := sa.(*unix.SockaddrInet4).Port
		found := false
		for _, s := range ListeningSockets() {
			found = found || (s.TCP && s.Port == port)
		}
		done <- result{port: port, found: found}
	}
	for tries := 0; ; tries++ {
		go run()
		if !<-onMain {
			break
		}
		if tries == 3 {
			t.Skip("every try ran on the main thread")
		}
	}
	r := <-done
	if r.err != nil {
		t.Skipf("cannot set up a namespace on a worker thread: %v", r.err)
	}
	if !r.found {
		t.Fatalf("listener on port %d in the calling thread's namespace not listed", r.port)
	}
}
