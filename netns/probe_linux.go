package netns

import (
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"strings"

	"github.com/coreos/go-iptables/iptables"
	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// ProbeResult is what this host can do for bridge networking, found by
// trying it in a throwaway namespace rather than by looking for modules.
type ProbeResult struct {
	// Namespace, Bridge, Veth and Firewall are nil when that works.
	Namespace error
	Bridge    error
	Veth      error
	Firewall  error
	// FirewallBackend says what writes the rules: "iptables (nf_tables)",
	// "iptables (legacy)" or "nftables".
	FirewallBackend string
}

// Err is the first failure, or nil when bridge networking can work.
func (p ProbeResult) Err() error {
	for _, e := range []error{p.Namespace, p.Bridge, p.Veth, p.Firewall} {
		if e != nil {
			return e
		}
	}
	return nil
}

// Probe creates a namespace, a bridge and a veth pair inside it, deletes
// them, and lists the tables of the firewall backend (FirewallAuto, "",
// FirewallIptables or FirewallNftables). Nothing outside the throwaway
// namespace changes.
func Probe(firewall string) ProbeResult {
	var p ProbeResult
	ns, err := throwawayNamespace()
	if err != nil {
		p.Namespace = fmt.Errorf("create a network namespace: %w", err)
		p.Bridge, p.Veth = p.Namespace, p.Namespace
	} else {
		p.Bridge, p.Veth = probeLinks(ns)
		ns.Close()
	}
	p.FirewallBackend, p.Firewall = probeFirewall(firewall)
	return p
}

func probeFirewall(kind string) (string, error) {
	switch ResolveFirewall(kind) {
	case FirewallIptables:
		backend, err := probeIptables()
		return "iptables (" + backend + ")", err
	case FirewallNftables:
		c, err := nftables.New()
		if err == nil {
			_, err = c.ListTablesOfFamily(nftables.TableFamilyIPv4)
		}
		if err != nil {
			return "nftables", fmt.Errorf("nftables over netlink: %w (the kernel needs nf_tables)", err)
		}
		return "nftables", nil
	}
	return "", fmt.Errorf("bridge firewall %q: want auto, iptables or nftables", kind)
}

// throwawayNamespace returns a handle on a new, unnamed namespace; it goes
// away when the handle is closed.
func throwawayNamespace() (vnetns.NsHandle, error) {
	type res struct {
		h   vnetns.NsHandle
		err error
	}
	ch := make(chan res, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := vnetns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			ch <- res{err: err}
			return
		}
		defer orig.Close()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			ch <- res{err: err}
			return
		}
		h, err := vnetns.Get()
		if serr := vnetns.Set(orig); serr != nil {
			ch <- res{h: h, err: errors.Join(err, serr)}
			return
		}
		runtime.UnlockOSThread()
		ch <- res{h: h, err: err}
	}()
	r := <-ch
	return r.h, r.err
}

func probeLinks(ns vnetns.NsHandle) (bridgeErr, vethErr error) {
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return err, err
	}
	defer h.Close()
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "roamprobe0"}}
	if err := h.LinkAdd(br); err != nil {
		return fmt.Errorf("create a bridge: %w", err), errors.New("not tried: no bridge")
	}
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "roamprobe1"}, PeerName: "roamprobe2"}
	if err := h.LinkAdd(veth); err != nil {
		return nil, fmt.Errorf("create a veth pair: %w", err)
	}
	if err := h.LinkSetMaster(veth, br); err != nil {
		return nil, fmt.Errorf("attach a veth to a bridge: %w", err)
	}
	return nil, nil
}

func probeIptables() (string, error) {
	if err := iptablesInstalled(); err != nil {
		return "", fmt.Errorf("%w; install it (apt-get install iptables) or set bridge_network_firewall = \"nftables\"", err)
	}
	ipt, err := iptables.New()
	if err != nil {
		return "", fmt.Errorf("iptables: %w", err)
	}
	backend := "legacy"
	if out, err := exec.Command("iptables", "--version").Output(); err == nil && strings.Contains(string(out), "nf_tables") {
		backend = "nf_tables"
	}
	for _, table := range []string{"filter", "nat"} {
		if _, err := ipt.ListChains(table); err != nil {
			return backend, fmt.Errorf("iptables %s table: %w", table, err)
		}
	}
	return backend, nil
}
