package netns

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
)

// Redirect is TCP inside one allocation's namespace sent to a local port
// instead of where it was going: what a transparent proxy sits behind.
// Rules are IPv4, like the rest of the firewall.
type Redirect struct {
	// Name tags the rules, so that each set is found, replaced and
	// removed on its own ("roam redirect <name>" in iptables-save or nft).
	Name     string
	Outbound *OutboundRedirect
	Inbound  *InboundRedirect
}

// OutboundRedirect sends connections that processes in the namespace open
// to 127.0.0.1:ToPort. Traffic to the namespace's own addresses (leaving
// through lo) is never redirected.
type OutboundRedirect struct {
	ToPort int
	// Destinations and Ports restrict the redirect to these destination
	// networks and ports; empty means all.
	Destinations []netip.Prefix
	Ports        []int
	// ExcludeUIDs and ExcludeMark (0: none) exempt the proxy's own
	// connections, which would otherwise loop back into it.
	ExcludeUIDs []uint32
	ExcludeMark uint32
}

// InboundRedirect sends connections arriving at the namespace to ToPort on
// the address they arrived at.
type InboundRedirect struct {
	ToPort int
	// Ports restricts the redirect to these destination ports; empty
	// means all.
	Ports []int
}

var redirectName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Validate reports every problem of the redirect.
func (r Redirect) Validate() error {
	var errs []error
	if !redirectName.MatchString(r.Name) {
		errs = append(errs, fmt.Errorf("name %q: want letters, digits, '.', '_' or '-'", r.Name))
	}
	if r.Outbound == nil && r.Inbound == nil {
		errs = append(errs, errors.New("neither outbound nor inbound"))
	}
	if o := r.Outbound; o != nil {
		errs = append(errs, checkPorts("outbound", o.ToPort, o.Ports))
		for _, p := range o.Destinations {
			if !p.IsValid() || !p.Addr().Is4() {
				errs = append(errs, fmt.Errorf("outbound destination %s: want an IPv4 prefix", p))
			}
		}
	}
	if i := r.Inbound; i != nil {
		errs = append(errs, checkPorts("inbound", i.ToPort, i.Ports))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("redirect %s: %w", r.Name, err)
	}
	return nil
}

func checkPorts(what string, to int, ports []int) error {
	var errs []error
	for _, p := range append([]int{to}, ports...) {
		if p < 1 || p > 65535 {
			errs = append(errs, fmt.Errorf("%s port %d out of range", what, p))
		}
	}
	return errors.Join(errs...)
}

// redirectTag is the comment on every rule of the redirect named name.
func redirectTag(name string) string { return "roam redirect " + name }

// digest identifies the redirect's settings, so that a backend that
// compares rules by tag only (nftables) notices changed ones.
func (r Redirect) digest() string {
	s := fmt.Sprintf("%+v", r.Outbound)
	if r.Outbound != nil {
		s = fmt.Sprintf("%+v", *r.Outbound)
	}
	if r.Inbound != nil {
		s += fmt.Sprintf("|%+v", *r.Inbound)
	}
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:4])
}

// orAll is xs, or one zero value standing for "any" when xs is empty.
func orAll[T any](xs []T) []T {
	if len(xs) == 0 {
		var zero T
		return []T{zero}
	}
	return xs
}
