package netns

import (
	"fmt"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
)

// The nftables backend's redirects: the same rules as the iptables
// backend's (redirect_iptables_linux.go), in roam's table inside the
// allocation's namespace (chain output for outbound, prerouting for
// inbound). Rules are compared by count, so each carries the settings'
// digest in its comment ("roam redirect <name> <digest>"): other settings
// under the same name replace them.

func (n *nftRules) InstallRedirect(nsPath string, rd Redirect) error {
	if err := rd.Validate(); err != nil {
		return err
	}
	tag := redirectTag(rd.Name)
	err := Do(nsPath, func() error { return n.ensureVersioned(tag, tag+" "+rd.digest(), n.redirectRules(rd)) })
	if err != nil {
		return fmt.Errorf("redirect %s in %s: %w", rd.Name, nsPath, err)
	}
	return nil
}

func (n *nftRules) RemoveRedirect(nsPath, name string) error {
	err := Do(nsPath, func() error {
		if err := n.deleteWhere(versionOf(redirectTag(name))); err != nil {
			return err
		}
		return n.removeTableIfEmpty()
	})
	if err != nil {
		return fmt.Errorf("remove redirect %s in %s: %w", name, nsPath, err)
	}
	return nil
}

// versionOf matches the comments "<tag> <anything>".
func versionOf(tag string) func(string) bool {
	return func(s string) bool { return strings.HasPrefix(s, tag+" ") }
}

// ensureVersioned makes the rules of tag exactly want, written with the
// comment full ("<tag> <digest>"), in one transaction.
func (n *nftRules) ensureVersioned(tag, full string, want []nftRule) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	c, err := n.conn()
	if err != nil {
		return err
	}
	n.ensureTable(c)
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables: table %s: %w", n.table.Name, err)
	}
	have, err := n.taggedWhere(c, versionOf(tag))
	if err != nil {
		return err
	}
	if len(have) == len(want) && allTagged(have, full) {
		return nil
	}
	for _, r := range have {
		if err := c.DelRule(r); err != nil {
			return fmt.Errorf("nftables: delete %s: %w", tag, err)
		}
	}
	for _, r := range want {
		c.AddRule(&nftables.Rule{Table: n.table, Chain: r.chain, Exprs: r.exprs, UserData: userdata.AppendString(nil, userdata.TypeComment, full)})
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables: write %s: %w", tag, err)
	}
	return nil
}

func allTagged(rs []*nftables.Rule, tag string) bool {
	for _, r := range rs {
		if s, _ := userdata.GetString(r.UserData, userdata.TypeComment); s != tag {
			return false
		}
	}
	return true
}

// redirectRules are the rules of one redirect, outbound then inbound.
func (n *nftRules) redirectRules(rd Redirect) []nftRule {
	pre, output, _, _ := n.chains()
	var out []nftRule
	if o := rd.Outbound; o != nil {
		for _, dst := range orAll(o.Destinations) {
			for _, port := range orAll(o.Ports) {
				e := append(ifname(expr.MetaKeyOIFNAME, expr.CmpOpNeq, "lo"), tcpTo(port)...)
				if dst.IsValid() {
					e = append(e, addrIn(16, dst)...)
				}
				for _, uid := range o.ExcludeUIDs {
					e = append(e, metaNot(expr.MetaKeySKUID, uid)...)
				}
				if o.ExcludeMark != 0 {
					e = append(e, metaNot(expr.MetaKeyMARK, o.ExcludeMark)...)
				}
				out = append(out, nftRule{output, append(e, redirTo(o.ToPort)...)})
			}
		}
	}
	if in := rd.Inbound; in != nil {
		for _, port := range orAll(in.Ports) {
			out = append(out, nftRule{pre, append(tcpTo(port), redirTo(in.ToPort)...)})
		}
	}
	return out
}

// tcpTo matches TCP, to port when it is not 0.
func tcpTo(port int) []expr.Any {
	if port != 0 {
		return l4Port("tcp", port)
	}
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
	}
}

// metaNot matches a 32-bit meta key (skuid, mark) other than v.
func metaNot(key expr.MetaKey, v uint32) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: key, Register: 1},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(v)},
	}
}

// redirTo redirects to port on the local address (127.0.0.1 for the
// host's own traffic, the arrival address otherwise).
func redirTo(port int) []expr.Any {
	return []expr.Any{
		&expr.Immediate{Register: 1, Data: binaryutil.BigEndian.PutUint16(uint16(port))},
		&expr.Redir{RegisterProtoMin: 1, Flags: expr.NF_NAT_RANGE_PROTO_SPECIFIED},
	}
}
