package fingerprint

import (
	"bufio"
	"encoding/hex"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/roam-sh/roam/structs"
)

// Socket is a host socket bound to a port: a TCP listener or a bound UDP
// socket. An unspecified Addr (0.0.0.0, ::) holds the port on every address.
type Socket struct {
	Addr netip.Addr
	Port int
	// TCP: a listener; otherwise a bound UDP socket.
	TCP bool
}

// ListeningSockets reads the kernel's socket tables. Errors (a table
// missing on an IPv4-only kernel) leave that table out.
//
// The tables are read through /proc/thread-self, with the goroutine held on
// its thread: /proc/net is /proc/self/net, the namespace of the process's
// main thread, and the agent switches threads into allocation namespaces to
// set them up. When the Go runtime happened to run such a switch on the main
// thread, /proc/net listed the allocation's empty namespace and every host
// listener went missing. An unlocked thread is always in the agent's own
// namespace (a thread that enters another one stays locked to its goroutine
// until it is back or discarded), so the calling thread's view is the host's.
func ListeningSockets() []Socket {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var out []Socket
	for _, f := range []struct {
		path string
		tcp  bool
	}{{"/proc/thread-self/net/tcp", true}, {"/proc/thread-self/net/tcp6", true}, {"/proc/thread-self/net/udp", false}, {"/proc/thread-self/net/udp6", false}} {
		// The kernel lists a table a page at a time; sockets opened or
		// closed between two pages shift the rest, so one pass over a busy
		// table can miss a listener that was there all along. Two passes
		// miss it only if the table churns at the same place twice.
		for range 2 {
			out = append(out, readSockets(f.path, f.tcp)...)
		}
	}
	slices.SortFunc(out, compareSockets)
	return slices.Compact(out)
}

func compareSockets(a, b Socket) int {
	if c := a.Addr.Compare(b.Addr); c != 0 {
		return c
	}
	if a.Port != b.Port {
		return a.Port - b.Port
	}
	switch {
	case a.TCP == b.TCP:
		return 0
	case a.TCP:
		return -1
	}
	return 1
}

func readSockets(path string, tcp bool) []Socket {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []Socket
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 {
			continue
		}
		// TCP state 0A is LISTEN; a bound UDP socket holds its port in
		// any state.
		if tcp && fields[3] != "0A" {
			continue
		}
		if s, ok := parseSocket(fields[1]); ok {
			s.TCP = tcp
			out = append(out, s)
		}
	}
	return out
}

// parseSocket parses "0100007F:1F90" (address in host byte order words).
func parseSocket(s string) (Socket, bool) {
	addrHex, portHex, ok := strings.Cut(s, ":")
	if !ok {
		return Socket{}, false
	}
	port, err := strconv.ParseUint(portHex, 16, 16)
	if err != nil {
		return Socket{}, false
	}
	raw, err := hex.DecodeString(addrHex)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return Socket{}, false
	}
	// Each 32-bit word is in the kernel's (little-endian) byte order.
	for i := 0; i < len(raw); i += 4 {
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	addr, _ := netip.AddrFromSlice(raw)
	return Socket{Addr: addr.Unmap(), Port: int(port)}, true
}

// ReserveListening adds to each node address's reserved ports the ports
// that a socket outside roam's allocations already holds on it, so that the
// scheduler never hands them out as dynamic ports and refuses a static one
// with its reason ("reserved port collision"), instead of placing a task
// that could not bind. base gives each host network's configured reserved
// ports (the starting point, so repeated calls do not accumulate); exclude
// holds the ports of the node's own allocations.
//
// Every socket in the dynamic range [lo, hi] counts, and every TCP
// listener. A UDP socket outside the dynamic range counts unless it is in
// the kernel's ephemeral range (ephLo, ephHi): there it is a client's
// socket (a DNS lookup) that comes and goes, and reserving it would only
// make the node change at every refresh.
func ReserveListening(n *structs.Node, socks []Socket, lo, hi int, base func(alias string) string, exclude map[int]bool) {
	ephLo, ephHi := EphemeralPorts()
	holds := func(s Socket) bool {
		switch {
		case exclude[s.Port]:
			return false
		case s.Port >= lo && s.Port <= hi, s.TCP:
			return true
		}
		return s.Port < ephLo || s.Port > ephHi
	}
	if n.NodeResources == nil {
		return
	}
	for _, nn := range n.NodeResources.NodeNetworks {
		for i := range nn.Addresses {
			a := &nn.Addresses[i]
			addr, _ := netip.ParseAddr(a.Address)
			var ports []int
			for _, s := range socks {
				if !holds(s) {
					continue
				}
				if s.Addr.IsUnspecified() || s.Addr == addr {
					ports = append(ports, s.Port)
				}
			}
			a.ReservedPorts = joinPorts(base(a.Alias), ports)
		}
	}
}

func joinPorts(base string, ports []int) string {
	slices.Sort(ports)
	ports = slices.Compact(ports)
	parts := []string{}
	if base != "" {
		parts = append(parts, base)
	}
	for _, p := range ports {
		parts = append(parts, strconv.Itoa(p))
	}
	return strings.Join(parts, ",")
}

// EphemeralPorts is the kernel's range for the local ports of outgoing
// connections (net.ipv4.ip_local_port_range), Linux's default when it
// cannot be read.
func EphemeralPorts() (lo, hi int) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			l, err1 := strconv.Atoi(f[0])
			h, err2 := strconv.Atoi(f[1])
			if err1 == nil && err2 == nil {
				return l, h
			}
		}
	}
	return 32768, 60999
}
