package network

import (
	"fmt"
	"strings"

	"github.com/roam-sh/roam/client/state"
	"github.com/roam-sh/roam/netns"
	"github.com/roam-sh/roam/structs"
)

// deps are what the built-in modes are made from.
type deps struct {
	bridge *netns.Bridge // nil when bridge mode is unavailable
	// bridgeErr says why bridge mode is unavailable.
	bridgeErr error
	cni       *netns.CNI
	db        *state.DB
}

// builtinModes are the network modes this client offers, in the order a
// group's mode is matched against them: exact names first, families (a
// name ending in "/") after, so that a family never shadows a mode.
// Adding a mode is one file and one line here.
func builtinModes(d deps) []Mode {
	return []Mode{
		// host first: the default (a group without a network block) and
		// the one most groups use; it makes nothing.
		hostMode{},
		// bridge: the client's bridge, a veth and address per allocation;
		// unavailable (and saying why) when the kernel or config rule it out.
		&bridgeMode{bridge: d.bridge, err: d.bridgeErr, leases: d.db},
		// none: a namespace with loopback only.
		noneMode{},
		// cni/<name> last: a family, matched by prefix, so that it follows
		// every exact name.
		&cniMode{cni: d.cni},
	}
}

// modeList is an ordered list of modes and the lookup by a group's mode.
type modeList []Mode

// lookup finds the first mode that handles name, or refuses it naming the
// modes this client has.
func (l modeList) lookup(name structs.NetworkMode) (Mode, error) {
	for _, m := range l {
		if handles(m, string(name)) {
			return m, nil
		}
	}
	return nil, fmt.Errorf("unsupported network mode %q (this client has %s)", name, l.names())
}

// handles reports whether m is the mode name, or its family.
func handles(m Mode, name string) bool {
	n := m.Name()
	if strings.HasSuffix(n, "/") {
		return strings.HasPrefix(name, n) && len(name) > len(n)
	}
	return n == name
}

// names lists the modes for a person: "host, bridge, none, cni/<name>".
func (l modeList) names() string {
	out := make([]string, len(l))
	for i, m := range l {
		out[i] = m.Name()
		if strings.HasSuffix(out[i], "/") {
			out[i] += "<name>"
		}
	}
	return strings.Join(out, ", ")
}
