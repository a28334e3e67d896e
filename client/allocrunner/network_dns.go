package allocrunner

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"

	"github.com/roam-sh/roam/netns"
	"github.com/roam-sh/roam/structs"
)

// NamespaceDNS answers DNS on sockets opened inside an allocation's network
// namespace: the agent's DNS server (dns.Server), so that tasks in bridge
// mode resolve <svc>.service.consul with no configuration. resolv.conf
// cannot name a port, so the agent listens on port 53 of the namespace's
// own loopback; the handler runs in the agent, which forwards other names
// from the host's namespace.
type NamespaceDNS interface {
	// Serve answers on pc and ln until stop; it owns and closes them.
	Serve(pc net.PacketConn, ln net.Listener) (stop func(), err error)
}

// nsDNSAddr is where the agent answers inside a namespace.
const nsDNSAddr = "127.0.0.1"

// nsDNS is the network hook's DNS listener pair in the current namespace.
type nsDNS struct {
	dns NamespaceDNS

	mu   sync.Mutex
	stop func()
}

// serve starts answering inside nsPath, after stopping any listener in a
// namespace the allocation had before (a repair made it anew). It returns
// the nameserver address for resolv.conf, or "" when the allocation keeps
// its own servers (a job's dns block or CNI's answer) or the listeners
// could not be opened (logged: the host's resolver is used as before).
func (d *nsDNS) serve(ctx context.Context, nsPath string, st *structs.AllocNetworkStatus) (string, error) {
	d.close()
	if d.dns == nil || nsPath == "" || (st.DNS != nil && len(st.DNS.Servers) > 0) {
		return "", nil
	}
	addr := net.JoinHostPort(nsDNSAddr, "53")
	pc, err := netns.ListenPacket(ctx, nsPath, "udp", addr)
	if err != nil {
		return "", fmt.Errorf("dns in the namespace: %w", err)
	}
	ln, err := netns.Listen(ctx, nsPath, "tcp", addr)
	if err != nil {
		pc.Close()
		return "", fmt.Errorf("dns in the namespace: %w", err)
	}
	stop, err := d.dns.Serve(pc, ln)
	if err != nil {
		return "", fmt.Errorf("dns in the namespace: %w", err)
	}
	d.mu.Lock()
	d.stop = stop
	d.mu.Unlock()
	return nsDNSAddr, nil
}

func (d *nsDNS) close() {
	d.mu.Lock()
	stop := d.stop
	d.stop = nil
	d.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// maxNameservers is glibc's MAXNS: later nameserver lines are ignored.
const maxNameservers = 3

// agentResolvConf is the allocation's resolv.conf when the agent answers
// at agentDNS inside the namespace: that address first, then the job's
// searches and options if its dns block has some, else the host's search,
// domain and options lines and, as fallbacks, the host's nameservers a
// namespace can reach (not loopback ones).
func agentResolvConf(agentDNS string, job *structs.DNSConfig, host string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# written by roam: the agent answers DNS at %s inside this namespace\n", agentDNS)
	fmt.Fprintf(&b, "nameserver %s\n", agentDNS)
	if job != nil && len(job.Searches)+len(job.Options) > 0 {
		if len(job.Searches) > 0 {
			fmt.Fprintf(&b, "search %s\n", strings.Join(job.Searches, " "))
		}
		if len(job.Options) > 0 {
			fmt.Fprintf(&b, "options %s\n", strings.Join(job.Options, " "))
		}
		return b.String()
	}
	servers := 1
	for _, line := range strings.Split(host, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "nameserver":
			if strings.HasPrefix(f[1], "127.") || f[1] == "::1" || servers == maxNameservers {
				continue
			}
			servers++
		case "search", "domain", "options":
		default:
			continue
		}
		b.WriteString(strings.Join(f, " ") + "\n")
	}
	return b.String()
}

// hostResolvConf is the host's resolver configuration as a namespace should
// see it: /etc/resolv.conf, or systemd-resolved's upstream file when the
// host points only at a loopback stub such as 127.0.0.53.
func hostResolvConf() string {
	host, _ := os.ReadFile("/etc/resolv.conf")
	if onlyLoopbackServers(string(host)) {
		if up, err := os.ReadFile("/run/systemd/resolve/resolv.conf"); err == nil {
			return string(up)
		}
	}
	return string(host)
}
