package netns

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
)

// nftRules is the nftables backend: the same rules as the iptables one
// (rules_linux.go), in a table of roam's own (family ip, named after the
// chain prefix in lower case) whose base chains hook the kernel directly,
// written over netlink. Nothing has to be installed. Each rule carries its
// tag as an nft comment, so `nft list table ip roam` shows whose it is.
//
//	chain prerouting  { type nat hook prerouting priority dstnat; }   DNAT per allocation port
//	chain output      { type nat hook output priority dstnat; }       the same, for the host's own traffic
//	chain postrouting { type nat hook postrouting priority srcnat; }  masquerading per bridge
//	chain forward     { type filter hook forward priority filter; }   forwarding per bridge
//
// Another table's base chain on the same hook still sees every packet this
// one accepts: on a host where Docker's iptables rules drop forwarded
// traffic by policy, use the iptables backend (auto does).
type nftRules struct {
	mu    sync.Mutex
	table *nftables.Table
}

func newNftables(prefix string) (*nftRules, error) {
	return &nftRules{table: &nftables.Table{Family: nftables.TableFamilyIPv4, Name: strings.ToLower(prefix)}}, nil
}

func (n *nftRules) chains() (pre, out, post, fwd *nftables.Chain) {
	accept := nftables.ChainPolicyAccept
	c := func(name string, typ nftables.ChainType, hook *nftables.ChainHook, prio *nftables.ChainPriority) *nftables.Chain {
		return &nftables.Chain{Name: name, Table: n.table, Type: typ, Hooknum: hook, Priority: prio, Policy: &accept}
	}
	return c("prerouting", nftables.ChainTypeNAT, nftables.ChainHookPrerouting, nftables.ChainPriorityNATDest),
		c("output", nftables.ChainTypeNAT, nftables.ChainHookOutput, nftables.ChainPriorityNATDest),
		c("postrouting", nftables.ChainTypeNAT, nftables.ChainHookPostrouting, nftables.ChainPriorityNATSource),
		c("forward", nftables.ChainTypeFilter, nftables.ChainHookForward, nftables.ChainPriorityFilter)
}

// nftRule is a rule to write: its chain and expressions.
type nftRule struct {
	chain *nftables.Chain
	exprs []expr.Any
}

func (n *nftRules) bridgeRules(br string, subnet netip.Prefix) []nftRule {
	_, _, post, fwd := n.chains()
	in, out, notOut := ifname(expr.MetaKeyIIFNAME, expr.CmpOpEq, br), ifname(expr.MetaKeyOIFNAME, expr.CmpOpEq, br), ifname(expr.MetaKeyOIFNAME, expr.CmpOpNeq, br)
	r := func(c *nftables.Chain, parts ...[]expr.Any) nftRule {
		var e []expr.Any
		for _, p := range parts {
			e = append(e, p...)
		}
		return nftRule{c, e}
	}
	accept, drop, masq := verdict(expr.VerdictAccept), verdict(expr.VerdictDrop), []expr.Any{&expr.Masq{}}
	return []nftRule{
		r(fwd, in, out, ctStatusDNAT(), accept),
		r(fwd, in, out, drop),
		r(fwd, out, ctState(expr.CtStateBitRELATED|expr.CtStateBitESTABLISHED), accept),
		r(fwd, out, ctStatusDNAT(), accept),
		r(fwd, in, accept),
		r(post, saddrIn(subnet), notOut, masq),
		r(post, out, saddrIn(netip.MustParsePrefix("127.0.0.0/8")), masq),
		r(post, out, saddrIn(subnet), ctStatusDNAT(), masq),
	}
}

func (n *nftRules) allocRules(addr, gateway netip.Addr, ports []PortMapping) []nftRule {
	pre, output, _, _ := n.chains()
	var out []nftRule
	for _, p := range ports {
		dsts := [][]expr.Any{daddrLocal()}
		if p.HostIP != "" {
			ip, err := netip.ParseAddr(p.HostIP)
			if err != nil || !ip.Is4() {
				continue // validateRequest refuses these
			}
			dsts = [][]expr.Any{daddrIs(ip)}
			if p.Gateway && ip != gateway {
				dsts = append(dsts, daddrIs(gateway))
			}
		}
		for _, proto := range Protocols {
			for _, dst := range dsts {
				e := append(append(append([]expr.Any{}, dst...), l4Port(proto, p.HostPort)...), dnatTo(addr, p.ContainerPort)...)
				out = append(out, nftRule{pre, e}, nftRule{output, e})
			}
		}
	}
	return out
}

// conn opens netlink to nf_tables in the calling thread's namespace.
func (n *nftRules) conn() (*nftables.Conn, error) {
	c, err := nftables.New()
	if err != nil {
		return nil, fmt.Errorf("nftables: %w", err)
	}
	return c, nil
}

// ensureTable adds the table and its chains to c's batch (a no-op for
// those that exist).
func (n *nftRules) ensureTable(c *nftables.Conn) {
	c.AddTable(n.table)
	pre, out, post, fwd := n.chains()
	for _, ch := range []*nftables.Chain{pre, out, post, fwd} {
		c.AddChain(ch)
	}
}

// tagged lists the table's rules whose comment is tag; a missing table is
// no rule.
func (n *nftRules) tagged(c *nftables.Conn, tag string) ([]*nftables.Rule, error) {
	return n.taggedWhere(c, func(s string) bool { return s == tag })
}

// taggedWhere lists the table's rules whose comment match accepts.
func (n *nftRules) taggedWhere(c *nftables.Conn, match func(string) bool) ([]*nftables.Rule, error) {
	pre, out, post, fwd := n.chains()
	var have []*nftables.Rule
	for _, ch := range []*nftables.Chain{pre, out, post, fwd} {
		rules, err := c.GetRules(n.table, ch)
		if err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue
			}
			return nil, fmt.Errorf("nftables: list %s %s: %w", n.table.Name, ch.Name, err)
		}
		for _, r := range rules {
			if s, ok := userdata.GetString(r.UserData, userdata.TypeComment); ok && match(s) {
				have = append(have, r)
			}
		}
	}
	return have, nil
}

// ensureSet makes the rules tagged tag exactly want, in one transaction:
// when their number differs, those there are deleted and want added.
func (n *nftRules) ensureSet(tag string, want []nftRule) (bool, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	c, err := n.conn()
	if err != nil {
		return false, err
	}
	n.ensureTable(c)
	if err := c.Flush(); err != nil {
		return false, fmt.Errorf("nftables: table %s: %w", n.table.Name, err)
	}
	have, err := n.tagged(c, tag)
	if err != nil {
		return false, err
	}
	if len(have) == len(want) && len(want) > 0 {
		return false, nil
	}
	for _, r := range have {
		if err := c.DelRule(r); err != nil {
			return false, fmt.Errorf("nftables: delete %s: %w", tag, err)
		}
	}
	for _, r := range want {
		c.AddRule(&nftables.Rule{Table: n.table, Chain: r.chain, Exprs: r.exprs, UserData: userdata.AppendString(nil, userdata.TypeComment, tag)})
	}
	if err := c.Flush(); err != nil {
		return false, fmt.Errorf("nftables: write %s: %w", tag, err)
	}
	return true, nil
}

func (n *nftRules) deleteTagged(tag string) error {
	return n.deleteWhere(func(s string) bool { return s == tag })
}

// deleteWhere removes the rules whose comment match accepts.
func (n *nftRules) deleteWhere(match func(string) bool) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	c, err := n.conn()
	if err != nil {
		return err
	}
	have, err := n.taggedWhere(c, match)
	if err != nil || len(have) == 0 {
		return err
	}
	for _, r := range have {
		if err := c.DelRule(r); err != nil {
			return fmt.Errorf("nftables: delete rule: %w", err)
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables: delete rules: %w", err)
	}
	return nil
}

func (n *nftRules) ensureBridge(br string, subnet netip.Prefix) (bool, error) {
	return n.ensureSet(bridgeComment(br), n.bridgeRules(br, subnet))
}

func (n *nftRules) ensureAlloc(allocID string, addr, gateway netip.Addr, ports []PortMapping) error {
	want := n.allocRules(addr, gateway, ports)
	if len(want) == 0 {
		return n.deleteTagged(allocComment(allocID))
	}
	_, err := n.ensureSet(allocComment(allocID), want)
	return err
}

func (n *nftRules) deleteAlloc(allocID string) error { return n.deleteTagged(allocComment(allocID)) }

// missing counts, per tag, the rules whose number is off: a flushed chain
// or a deleted table shows up as every rule missing.
func (n *nftRules) missing(br string, subnet netip.Prefix, allocID string, addr, gateway netip.Addr, ports []PortMapping) (int, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	c, err := n.conn()
	if err != nil {
		return 0, err
	}
	count := 0
	for tag, want := range map[string]int{
		bridgeComment(br):     len(n.bridgeRules(br, subnet)),
		allocComment(allocID): len(n.allocRules(addr, gateway, ports)),
	} {
		have, err := n.tagged(c, tag)
		if err != nil {
			return 0, err
		}
		if len(have) != want {
			count += max(want-len(have), 1)
		}
	}
	return count, nil
}

// destroy removes the bridge's rules, and the table once no rule is left.
func (n *nftRules) destroy(br string) error {
	if err := n.deleteTagged(bridgeComment(br)); err != nil {
		return err
	}
	return n.removeTableIfEmpty()
}

// removeTableIfEmpty deletes roam's table when none of its chains holds a
// rule.
func (n *nftRules) removeTableIfEmpty() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	c, err := n.conn()
	if err != nil {
		return err
	}
	pre, out, post, fwd := n.chains()
	for _, ch := range []*nftables.Chain{pre, out, post, fwd} {
		rules, err := c.GetRules(n.table, ch)
		if errors.Is(err, unix.ENOENT) {
			return nil // no table
		}
		if err != nil || len(rules) > 0 {
			return err
		}
	}
	c.DelTable(n.table)
	if err := c.Flush(); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("nftables: delete table %s: %w", n.table.Name, err)
	}
	return nil
}

// Expressions. Register 1 holds what is compared; DNAT uses 1 and 2.

// ifname compares the input or output interface's name (16 bytes, NUL
// padded, as the kernel stores it).
func ifname(key expr.MetaKey, op expr.CmpOp, name string) []expr.Any {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return []expr.Any{&expr.Meta{Key: key, Register: 1}, &expr.Cmp{Op: op, Register: 1, Data: b}}
}

// ipsDstNAT is the conntrack status bit of a connection whose destination
// was NATed (IPS_DST_NAT in linux/netfilter/nf_conntrack_common.h).
const ipsDstNAT = 1 << 5

// ctStatusDNAT matches connections whose destination was NATed (iptables'
// --ctstate DNAT).
func ctStatusDNAT() []expr.Any {
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATUS},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(ipsDstNAT), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
	}
}

func ctState(bits uint32) []expr.Any {
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(bits), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
	}
}

// saddrIn matches an IPv4 source address inside p.
func saddrIn(p netip.Prefix) []expr.Any { return addrIn(12, p) }

// addrIn matches the IPv4 address at offset of the network header (12:
// source, 16: destination) inside p.
func addrIn(offset uint32, p netip.Prefix) []expr.Any {
	p = p.Masked()
	mask := make([]byte, 4)
	for i := 0; i < p.Bits(); i++ {
		mask[i/8] |= 0x80 >> (i % 8)
	}
	net4 := p.Addr().As4()
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: net4[:]},
	}
}

func daddrIs(a netip.Addr) []expr.Any {
	b := a.As4()
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: b[:]},
	}
}

// daddrLocal matches a destination address of this host (iptables'
// -m addrtype --dst-type LOCAL).
func daddrLocal() []expr.Any {
	return []expr.Any{
		&expr.Fib{Register: 1, FlagDADDR: true, ResultADDRTYPE: true},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(unix.RTN_LOCAL)},
	}
}

// l4Port matches a protocol ("tcp", "udp") and destination port.
func l4Port(proto string, port int) []expr.Any {
	p := byte(unix.IPPROTO_TCP)
	if proto == "udp" {
		p = unix.IPPROTO_UDP
	}
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{p}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(uint16(port))},
	}
}

func dnatTo(addr netip.Addr, port int) []expr.Any {
	a := addr.As4()
	return []expr.Any{
		&expr.Immediate{Register: 1, Data: a[:]},
		&expr.Immediate{Register: 2, Data: binaryutil.BigEndian.PutUint16(uint16(port))},
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 2, Specified: true},
	}
}

func verdict(k expr.VerdictKind) []expr.Any { return []expr.Any{&expr.Verdict{Kind: k}} }
