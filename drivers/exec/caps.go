package exec

import (
	"fmt"
	"slices"
	"strings"
)

// capNumbers are the Linux capabilities by name (lower case, without the
// CAP_ prefix), as numbered in linux/capability.h.
var capNumbers = map[string]uint{
	"chown": 0, "dac_override": 1, "dac_read_search": 2, "fowner": 3, "fsetid": 4, "kill": 5,
	"setgid": 6, "setuid": 7, "setpcap": 8, "linux_immutable": 9, "net_bind_service": 10,
	"net_broadcast": 11, "net_admin": 12, "net_raw": 13, "ipc_lock": 14, "ipc_owner": 15,
	"sys_module": 16, "sys_rawio": 17, "sys_chroot": 18, "sys_ptrace": 19, "sys_pacct": 20,
	"sys_admin": 21, "sys_boot": 22, "sys_nice": 23, "sys_resource": 24, "sys_time": 25,
	"sys_tty_config": 26, "mknod": 27, "lease": 28, "audit_write": 29, "audit_control": 30,
	"setfcap": 31, "mac_override": 32, "mac_admin": 33, "syslog": 34, "wake_alarm": 35,
	"block_suspend": 36, "audit_read": 37, "perfmon": 38, "bpf": 39, "checkpoint_restore": 40,
}

// DefaultCapabilities are what a task running as root keeps: the set
// container runtimes give by default, less net_raw (raw sockets let a task
// forge packets on the node's networks). Other users get none unless the
// job adds some.
func DefaultCapabilities() []string {
	return []string{
		"audit_write", "chown", "dac_override", "fowner", "fsetid", "kill", "mknod",
		"net_bind_service", "setfcap", "setgid", "setpcap", "setuid", "sys_chroot",
	}
}

// normalizeCap turns "CAP_NET_RAW", "net_raw" or "NET_RAW" into "net_raw";
// "all" stays "all".
func normalizeCap(name string) (string, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	n = strings.TrimPrefix(n, "cap_")
	if n == "all" {
		return n, nil
	}
	if _, ok := capNumbers[n]; !ok {
		return "", fmt.Errorf("unknown capability %q", name)
	}
	return n, nil
}

func normalizeCaps(names []string) ([]string, error) {
	out := make([]string, 0, len(names))
	for _, n := range names {
		c, err := normalizeCap(n)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func allCaps() []string {
	out := make([]string, 0, len(capNumbers))
	for n := range capNumbers {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// capSet computes the capabilities a task keeps: the defaults for root (none
// for another user), plus cap_add, minus cap_drop ("all" works in both). Every
// capability the job adds must be in allow (the plugin's allow_caps).
func capSet(root bool, add, drop, allow []string) ([]string, error) {
	var err error
	if add, err = normalizeCaps(add); err != nil {
		return nil, fmt.Errorf("cap_add: %w", err)
	}
	if drop, err = normalizeCaps(drop); err != nil {
		return nil, fmt.Errorf("cap_drop: %w", err)
	}
	if allow, err = normalizeCaps(allow); err != nil {
		return nil, fmt.Errorf("allow_caps: %w", err)
	}
	expand := func(l []string) []string {
		if slices.Contains(l, "all") {
			return allCaps()
		}
		return l
	}
	add, drop, allow = expand(add), expand(drop), expand(allow)
	for _, c := range add {
		if !slices.Contains(allow, c) {
			return nil, fmt.Errorf("cap_add: capability %q is not in the client's allow_caps", c)
		}
	}
	var set []string
	if root {
		set = slices.Clone(DefaultCapabilities())
	}
	set = append(set, add...)
	set = slices.DeleteFunc(set, func(c string) bool { return slices.Contains(drop, c) })
	slices.Sort(set)
	return slices.Compact(set), nil
}

// capNumbersOf maps names (already normalized) to numbers.
func capNumbersOf(names []string) []uint {
	out := make([]uint, 0, len(names))
	for _, n := range names {
		out = append(out, capNumbers[n])
	}
	return out
}
