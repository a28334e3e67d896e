package netns

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// Kernel settings roam sets itself, so that operators have none to set.
const (
	sysctlIPForward = "net/ipv4/ip_forward"
)

func sysctlPath(key string) string { return filepath.Join("/proc/sys", key) }

// ReadSysctl returns a kernel setting ("net/ipv4/ip_forward").
func ReadSysctl(key string) (string, error) {
	b, err := os.ReadFile(sysctlPath(key))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// ensureSysctl writes value unless the setting already has it.
func ensureSysctl(key, value string) error {
	if cur, err := ReadSysctl(key); err == nil && cur == value {
		return nil
	}
	if err := os.WriteFile(sysctlPath(key), []byte(value), 0o644); err != nil {
		return fmt.Errorf("sysctl %s=%s: %w", strings.ReplaceAll(key, "/", "."), value, err)
	}
	return nil
}

// routeLocalnetKey lets packets from 127.0.0.0/8 leave through the bridge:
// what DNAT of a port mapped on a loopback address needs (they are then
// masqueraded to the gateway address, so replies come back).
func routeLocalnetKey(dev string) string { return "net/ipv4/conf/" + dev + "/route_localnet" }

// How allocations on one bridge are kept apart. Without br_netfilter the
// kernel never shows bridged frames to iptables, so the veths are isolated
// bridge ports: they talk only to the bridge (the host), and traffic between
// allocations through a mapped port is routed by the host. With br_netfilter
// (Docker loads it and turns it on for every bridge), a DNAT between two
// ports of one bridge is bridged, not routed, and isolated ports would drop
// it; there the bridge's own nf_call_iptables is switched on and roam's
// FORWARD rules (-i br -o br: DNAT accepted, the rest dropped) do the job.
type isolation int

const (
	isolatePorts isolation = iota
	isolateFirewall
)

const brNetfilterDir = "/proc/sys/net/bridge"

// isolationMode decides per call: Docker may load br_netfilter after the
// client started, and the next repair then rewires the ports.
func isolationMode() isolation {
	if _, err := os.Stat(brNetfilterDir); err == nil {
		return isolateFirewall
	}
	return isolatePorts
}

// BrNetfilter reports whether br_netfilter is loaded and whether it sends
// every bridge's frames through iptables (for node doctor).
func BrNetfilter() (loaded, callIptables bool) {
	v, err := ReadSysctl("net/bridge/bridge-nf-call-iptables")
	return err == nil, v == "1"
}

// setBridgeNFCallIptables turns on the bridge's nf_call_iptables over
// netlink (IFLA_BR_NF_CALL_IPTABLES) rather than through
// /sys/class/net/<br>/bridge, which shows the devices of the namespace
// sysfs was mounted in: netlink acts in the caller's own.
func setBridgeNFCallIptables(br netlink.Link) error {
	req := nl.NewNetlinkRequest(unix.RTM_NEWLINK, unix.NLM_F_ACK)
	msg := nl.NewIfInfomsg(unix.AF_UNSPEC)
	msg.Index = int32(br.Attrs().Index)
	req.AddData(msg)
	info := nl.NewRtAttr(unix.IFLA_LINKINFO, nil)
	info.AddRtAttr(nl.IFLA_INFO_KIND, nl.NonZeroTerminated("bridge"))
	data := info.AddRtAttr(nl.IFLA_INFO_DATA, nil)
	data.AddRtAttr(nl.IFLA_BR_NF_CALL_IPTABLES, []byte{1})
	req.AddData(info)
	if _, err := req.Execute(unix.NETLINK_ROUTE, 0); err != nil {
		return fmt.Errorf("bridge %s: nf_call_iptables: %w", br.Attrs().Name, err)
	}
	return nil
}
