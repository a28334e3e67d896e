package netns

import (
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"sync"

	"github.com/coreos/go-iptables/iptables"
)

// Rule layout (iptables; on Debian 12 iptables is the nft backend, so these
// land in nftables next to Docker's rules):
//
//	filter FORWARD      -j <P>-FORWARD            (first; also first in DOCKER-USER)
//	nat    PREROUTING   -j <P>-PREROUTING         (first)
//	nat    OUTPUT       -j <P>-OUTPUT             (first)
//	nat    POSTROUTING  -j <P>-POSTROUTING        (first)
//
//	<P>-FORWARD, per bridge (comment "roam bridge <br>"), in this order:
//	  -i br -o br  ctstate DNAT         ACCEPT   allocation to allocation via a mapped port
//	  -i br -o br                       DROP     any other allocation to allocation
//	  -o br ctstate RELATED,ESTABLISHED ACCEPT   replies to egress
//	  -o br ctstate DNAT                ACCEPT   mapped ports from other interfaces
//	  -i br                             ACCEPT   egress
//	<P>-POSTROUTING, per bridge:
//	  -s subnet ! -o br                 MASQUERADE  egress NAT
//	  -o br -s 127.0.0.0/8              MASQUERADE  ports mapped on loopback
//	  -o br -s subnet ctstate DNAT      MASQUERADE  hairpin through a mapped port
//	<P>-PREROUTING and <P>-OUTPUT, per allocation (comment "roam alloc <id>"),
//	for each port and for tcp and udp:
//	  -d <host IP> (or addrtype LOCAL) -p tcp --dport <host port> DNAT <alloc IP>:<to>
//	  -d <gateway>                     -p tcp --dport <host port> DNAT ...  (default host network)
//
// <P> is "ROAM" (tests use their own prefix so that parallel runs never
// share chains). Docker's FORWARD policy DROP never sees roam's traffic:
// the jumps come first, and Docker evaluates DOCKER-USER before its own.

// rule is one iptables rule: table, chain and the rest of the spec.
type rule struct {
	table, chain string
	spec         []string
}

// rules manages roam's chains. Calls are serialised: iptables-nft is not
// safe against concurrent read-modify-write of one chain.
type rules struct {
	mu     sync.Mutex
	ipt    *iptables.IPTables
	prefix string
	// restore is iptables-restore, for batches.
	restore string
}

func newRules(prefix string) (*rules, error) {
	ipt, err := iptables.New()
	if err != nil {
		return nil, fmt.Errorf("iptables: %w", err)
	}
	restore, err := exec.LookPath("iptables-restore")
	if err != nil {
		return nil, fmt.Errorf("iptables-restore: %w", err)
	}
	return &rules{ipt: ipt, prefix: prefix, restore: restore}, nil
}

func (r *rules) forwardChain() string { return r.prefix + "-FORWARD" }
func (r *rules) preChain() string     { return r.prefix + "-PREROUTING" }
func (r *rules) outChain() string     { return r.prefix + "-OUTPUT" }
func (r *rules) postChain() string    { return r.prefix + "-POSTROUTING" }

// jumps are the entries from the kernel's chains into roam's.
func (r *rules) jumps() []rule {
	j := func(table, from, to string) rule {
		return rule{table, from, []string{"-m", "comment", "--comment", jumpComment, "-j", to}}
	}
	return []rule{
		j("filter", "FORWARD", r.forwardChain()),
		j("filter", "DOCKER-USER", r.forwardChain()),
		j("nat", "PREROUTING", r.preChain()),
		j("nat", "OUTPUT", r.outChain()),
		j("nat", "POSTROUTING", r.postChain()),
	}
}

// ensureChains creates roam's chains and puts the jumps first in the
// kernel's chains (and in DOCKER-USER when Docker made it).
func (r *rules) ensureChains() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range []rule{{"filter", r.forwardChain(), nil}, {"nat", r.preChain(), nil}, {"nat", r.outChain(), nil}, {"nat", r.postChain(), nil}} {
		ok, err := r.ipt.ChainExists(c.table, c.chain)
		if err != nil {
			return fmt.Errorf("iptables: %s %s: %w", c.table, c.chain, err)
		}
		if !ok {
			if err := r.ipt.NewChain(c.table, c.chain); err != nil {
				return fmt.Errorf("iptables: create %s %s: %w", c.table, c.chain, err)
			}
		}
	}
	for _, j := range r.jumps() {
		if ok, _ := r.ipt.ChainExists(j.table, j.chain); !ok {
			continue // DOCKER-USER without Docker
		}
		if ok, err := r.ipt.Exists(j.table, j.chain, j.spec...); err != nil || ok {
			if err != nil {
				return fmt.Errorf("iptables: check jump %s %s: %w", j.table, j.chain, err)
			}
			continue
		}
		if err := r.ipt.Insert(j.table, j.chain, 1, j.spec...); err != nil {
			return fmt.Errorf("iptables: jump from %s %s: %w", j.table, j.chain, err)
		}
	}
	return nil
}

// bridgeRules are the rules one bridge needs, in order.
func (r *rules) bridgeRules(br string, subnet netip.Prefix) []rule {
	c := []string{"-m", "comment", "--comment", bridgeComment(br)}
	f := func(spec ...string) rule { return rule{"filter", r.forwardChain(), append(spec, c...)} }
	n := func(spec ...string) rule { return rule{"nat", r.postChain(), append(spec, c...)} }
	s := subnet.String()
	return []rule{
		f("-i", br, "-o", br, "-m", "conntrack", "--ctstate", "DNAT", "-j", "ACCEPT"),
		f("-i", br, "-o", br, "-j", "DROP"),
		f("-o", br, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"),
		f("-o", br, "-m", "conntrack", "--ctstate", "DNAT", "-j", "ACCEPT"),
		f("-i", br, "-j", "ACCEPT"),
		n("-s", s, "!", "-o", br, "-j", "MASQUERADE"),
		n("-o", br, "-s", "127.0.0.0/8", "-j", "MASQUERADE"),
		n("-o", br, "-s", s, "-m", "conntrack", "--ctstate", "DNAT", "-j", "MASQUERADE"),
	}
}

// allocRules are the DNAT rules of one allocation's ports.
func (r *rules) allocRules(allocID string, addr, gateway netip.Addr, ports []PortMapping) []rule {
	c := []string{"-m", "comment", "--comment", allocComment(allocID)}
	var out []rule
	for _, p := range ports {
		dsts := [][]string{{"-m", "addrtype", "--dst-type", "LOCAL"}}
		if p.HostIP != "" {
			dsts = [][]string{{"-d", p.HostIP}}
			if p.Gateway && p.HostIP != gateway.String() {
				dsts = append(dsts, []string{"-d", gateway.String()})
			}
		}
		to := netip.AddrPortFrom(addr, uint16(p.ContainerPort)).String()
		for _, proto := range Protocols {
			for _, dst := range dsts {
				spec := append(append([]string{}, dst...), "-p", proto, "--dport", strconv.Itoa(p.HostPort))
				spec = append(append(spec, c...), "-j", "DNAT", "--to-destination", to)
				out = append(out, rule{"nat", r.preChain(), spec}, rule{"nat", r.outChain(), spec})
			}
		}
	}
	return out
}

// ensureSet makes the rules tagged tag exactly want: if any is missing,
// every rule with the tag is removed and want appended in order, so a
// partly flushed set is rebuilt in the right order. A tag with no rule yet
// (a new allocation) costs one listing and the appends.
func (r *rules) ensureSet(tag string, want []rule) (repaired bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	have, err := r.tagged(tag)
	if err != nil {
		return false, err
	}
	if len(have) == len(want) && len(have) > 0 {
		absent, err := r.absent(want)
		if err != nil {
			return false, err
		}
		if len(absent) == 0 {
			return false, nil
		}
	}
	if err := r.deleteAll(have); err != nil {
		return false, err
	}
	if err := r.batch("-A", want); err != nil {
		return true, fmt.Errorf("iptables: append %s: %w", tag, err)
	}
	return true, nil
}

// batch applies op ("-A", "-D") to rules in one iptables-restore
// --noflush run per table: one transaction instead of one iptables run
// (each re-reading the whole ruleset) per rule.
func (r *rules) batch(op string, rs []rule) error {
	if len(rs) == 0 {
		return nil
	}
	var b strings.Builder
	for _, table := range []string{"filter", "nat"} {
		n := 0
		for _, ru := range rs {
			if ru.table != table {
				continue
			}
			if n == 0 {
				fmt.Fprintf(&b, "*%s\n", table)
			}
			n++
			b.WriteString(op + " " + ru.chain)
			for _, a := range ru.spec {
				b.WriteString(" " + restoreQuote(a))
			}
			b.WriteString("\n")
		}
		if n > 0 {
			b.WriteString("COMMIT\n")
		}
	}
	cmd := exec.Command(r.restore, "-w", "5", "--noflush")
	cmd.Stdin = strings.NewReader(b.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("iptables-restore: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

func restoreQuote(a string) string {
	if !strings.ContainsAny(a, " \"\t") {
		return a
	}
	return `"` + strings.ReplaceAll(a, `"`, `\"`) + `"`
}

// absent lists the rules of want that are not in place.
func (r *rules) absent(want []rule) ([]rule, error) {
	var out []rule
	for _, ru := range want {
		ok, err := r.ipt.Exists(ru.table, ru.chain, ru.spec...)
		if err != nil {
			return nil, fmt.Errorf("iptables: check %s %s: %w", ru.table, ru.chain, err)
		}
		if !ok {
			out = append(out, ru)
		}
	}
	return out, nil
}

// deleteTagged removes every rule carrying tag from roam's chains.
func (r *rules) deleteTagged(tag string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	have, err := r.tagged(tag)
	if err != nil {
		return err
	}
	return r.deleteAll(have)
}

// deleteAll removes rules just listed, in one batch; if the batch fails
// (a rule went away meanwhile), one by one, ignoring the missing.
func (r *rules) deleteAll(rs []rule) error {
	if len(rs) == 0 || r.batch("-D", rs) == nil {
		return nil
	}
	var errs []error
	for _, ru := range rs {
		if err := r.ipt.Delete(ru.table, ru.chain, ru.spec...); err != nil && !isNoRule(err) {
			errs = append(errs, fmt.Errorf("iptables: delete from %s %s: %w", ru.table, ru.chain, err))
		}
	}
	return errors.Join(errs...)
}

// tagged lists the rules in roam's chains whose comment is exactly tag.
func (r *rules) tagged(tag string) ([]rule, error) {
	var out []rule
	for _, c := range []rule{{"filter", r.forwardChain(), nil}, {"nat", r.preChain(), nil}, {"nat", r.outChain(), nil}, {"nat", r.postChain(), nil}} {
		lines, err := r.ipt.List(c.table, c.chain)
		if err != nil {
			// iptables-nft 1.8.9 calls a missing chain "incompatible"
			// (seen in a fresh namespace): ask before failing.
			if isNoChain(err) || !r.chainExists(c.table, c.chain) {
				continue
			}
			return nil, fmt.Errorf("iptables: list %s %s: %w", c.table, c.chain, err)
		}
		for _, line := range lines {
			args := splitRule(line)
			if len(args) < 2 || args[0] != "-A" || commentOf(args) != tag {
				continue
			}
			out = append(out, rule{c.table, c.chain, args[2:]})
		}
	}
	return out, nil
}

// removeChains deletes roam's chains and jumps if no rule is left in them
// (tests, and `undo` in the docs). Chains still in use stay.
func (r *rules) removeChainsIfEmpty() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range []rule{{"filter", r.forwardChain(), nil}, {"nat", r.preChain(), nil}, {"nat", r.outChain(), nil}, {"nat", r.postChain(), nil}} {
		lines, err := r.ipt.List(c.table, c.chain)
		if err != nil {
			continue
		}
		if len(lines) > 1 { // the first line is "-N chain"
			return nil
		}
	}
	for _, j := range r.jumps() {
		_ = r.ipt.DeleteIfExists(j.table, j.chain, j.spec...)
	}
	for _, c := range []rule{{"filter", r.forwardChain(), nil}, {"nat", r.preChain(), nil}, {"nat", r.outChain(), nil}, {"nat", r.postChain(), nil}} {
		if err := r.ipt.DeleteChain(c.table, c.chain); err != nil && !isNoChain(err) {
			return fmt.Errorf("iptables: delete chain %s %s: %w", c.table, c.chain, err)
		}
	}
	return nil
}

// chainExists reports whether the chain exists; true when it cannot tell.
func (r *rules) chainExists(table, chain string) bool {
	ok, err := r.ipt.ChainExists(table, chain)
	return ok || err != nil
}

func isNoRule(err error) bool {
	var e *iptables.Error
	return errors.As(err, &e) && e.IsNotExist()
}

func isNoChain(err error) bool {
	var e *iptables.Error
	if errors.As(err, &e) && e.IsNotExist() {
		return true
	}
	return strings.Contains(err.Error(), "No chain") || strings.Contains(err.Error(), "does not exist")
}

// commentOf returns the value of the rule's --comment, or "".
func commentOf(args []string) string {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "--comment" {
			return args[i+1]
		}
	}
	return ""
}

// splitRule splits a line of `iptables -S` into arguments, honouring the
// double quotes iptables puts around comments.
func splitRule(line string) []string {
	var out []string
	var cur strings.Builder
	inQuote, have := false, false
	for i := 0; i < len(line); i++ {
		ch := line[i]
		switch {
		case ch == '\\' && inQuote && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
		case ch == '"':
			inQuote, have = !inQuote, true
		case ch == ' ' && !inQuote:
			if have {
				out = append(out, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteByte(ch)
			have = true
		}
	}
	if have {
		out = append(out, cur.String())
	}
	return out
}
