package netns

import (
	"fmt"
	"strconv"
)

// The iptables backend's redirects: rules in roam's nat chains inside the
// allocation's namespace (<P>-OUTPUT for outbound, <P>-PREROUTING for
// inbound), one per destination network and port, the exemptions negated
// in each rule so that no RETURN skips another set's rules:
//
//	! -o lo -p tcp [-d net] [--dport p] [-m owner ! --uid-owner u] [-m mark ! --mark m] REDIRECT --to-ports N
//	-p tcp [--dport p]                                                              REDIRECT --to-ports N

func (r *rules) InstallRedirect(nsPath string, rd Redirect) error {
	if err := rd.Validate(); err != nil {
		return err
	}
	err := Do(nsPath, func() error {
		if err := r.ensureChains(); err != nil {
			return err
		}
		_, err := r.ensureSet(redirectTag(rd.Name), r.redirectRules(rd))
		return err
	})
	if err != nil {
		return fmt.Errorf("redirect %s in %s: %w", rd.Name, nsPath, err)
	}
	return nil
}

func (r *rules) RemoveRedirect(nsPath, name string) error {
	err := Do(nsPath, func() error {
		if err := r.deleteTagged(redirectTag(name)); err != nil {
			return err
		}
		return r.removeChainsIfEmpty()
	})
	if err != nil {
		return fmt.Errorf("remove redirect %s in %s: %w", name, nsPath, err)
	}
	return nil
}

// redirectRules are the rules of one redirect, outbound then inbound.
func (r *rules) redirectRules(rd Redirect) []rule {
	c := []string{"-m", "comment", "--comment", redirectTag(rd.Name)}
	var out []rule
	if o := rd.Outbound; o != nil {
		for _, dst := range orAll(o.Destinations) {
			for _, port := range orAll(o.Ports) {
				spec := append([]string{"!", "-o", "lo"}, tcpSpec(port)...)
				if dst.IsValid() {
					spec = append(spec, "-d", dst.Masked().String())
				}
				for _, uid := range o.ExcludeUIDs {
					spec = append(spec, "-m", "owner", "!", "--uid-owner", strconv.FormatUint(uint64(uid), 10))
				}
				if o.ExcludeMark != 0 {
					spec = append(spec, "-m", "mark", "!", "--mark", fmt.Sprintf("0x%x", o.ExcludeMark))
				}
				out = append(out, rule{"nat", r.outChain(), redirectTo(spec, c, o.ToPort)})
			}
		}
	}
	if in := rd.Inbound; in != nil {
		for _, port := range orAll(in.Ports) {
			out = append(out, rule{"nat", r.preChain(), redirectTo(tcpSpec(port), c, in.ToPort)})
		}
	}
	return out
}

// tcpSpec matches TCP, to port when it is not 0.
func tcpSpec(port int) []string {
	if port == 0 {
		return []string{"-p", "tcp"}
	}
	return []string{"-p", "tcp", "--dport", strconv.Itoa(port)}
}

func redirectTo(spec, comment []string, port int) []string {
	return append(append(spec, comment...), "-j", "REDIRECT", "--to-ports", strconv.Itoa(port))
}
