package dns

import (
	"encoding/hex"
	"net"
	"strings"

	mdns "github.com/miekg/dns"
)

// queryKind is what a name under one of the server's domains asks for.
type queryKind int

const (
	kindInvalid queryKind = iota // a name the server has no records for
	kindApex                     // the domain itself
	kindService                  // [tag.]svc.service, _svc._tag[.service]
	kindNode                     // node.node
	kindAddr                     // <hex ip>.addr
)

// query is a parsed name under one of the server's domains.
type query struct {
	kind queryKind
	// domain is the zone the name was under, canonical ("consul.").
	domain string
	// name is the service or node name, lower case.
	name string
	// tag filters instances; "" for none.
	tag string
	// dc is the datacenter label, "" for the agent's own.
	dc string
	// ip is the address an addr query names.
	ip net.IP
}

// kindLabels maps the label before the datacenter to its kind.
var kindLabels = map[string]queryKind{"service": kindService, "node": kindNode, "addr": kindAddr}

// inZone returns the zone (of zones, canonical) that name is in, or "".
func inZone(name string, zones []string) string {
	for _, z := range zones {
		if mdns.IsSubDomain(z, name) {
			return z
		}
	}
	return ""
}

// parseName reads the labels of name below zone. Anything it does not
// know is kindInvalid, answered NXDOMAIN.
func parseName(name, zone string) query {
	q := query{domain: zone}
	rel := strings.TrimSuffix(strings.ToLower(mdns.CanonicalName(name)), zone)
	if rel == "" {
		q.kind = kindApex
		return q
	}
	labels := mdns.SplitDomainName(strings.TrimSuffix(rel, "."))
	if rfc := parseRFC2782(labels); rfc.kind != kindInvalid {
		rfc.domain = zone
		return rfc
	}
	n := len(labels)
	switch {
	case n >= 2 && kindLabels[labels[n-1]] != kindInvalid:
		q.kind, labels = kindLabels[labels[n-1]], labels[:n-1]
	case n >= 3 && kindLabels[labels[n-2]] != kindInvalid:
		q.kind, q.dc, labels = kindLabels[labels[n-2]], labels[n-1], labels[:n-2]
	default:
		return query{domain: zone}
	}
	return q.withLabels(labels)
}

// withLabels fills the name part of a service, node or addr query.
func (q query) withLabels(labels []string) query {
	switch {
	case q.kind == kindService && len(labels) == 1:
		q.name = labels[0]
	case q.kind == kindService && len(labels) == 2 && !strings.HasPrefix(labels[0], "_"):
		q.tag, q.name = labels[0], labels[1]
	case q.kind == kindNode && len(labels) == 1:
		q.name = labels[0]
	case q.kind == kindAddr && len(labels) == 1:
		q.ip = hexIP(labels[0])
		if q.ip == nil {
			q.kind = kindInvalid
		}
	default:
		q.kind = kindInvalid
	}
	return q
}

// parseRFC2782 reads _svc._tag[.service][.dc]; tcp and udp as the tag
// mean no tag filter, as in Consul.
func parseRFC2782(labels []string) query {
	if len(labels) < 2 || len(labels) > 4 || !underscored(labels[0]) || !underscored(labels[1]) {
		return query{}
	}
	q := query{kind: kindService, name: labels[0][1:], tag: labels[1][1:]}
	rest := labels[2:]
	if len(rest) > 0 && rest[0] == "service" {
		rest = rest[1:]
	}
	switch len(rest) {
	case 0:
	case 1:
		q.dc = rest[0]
	default:
		return query{}
	}
	if q.tag == "tcp" || q.tag == "udp" {
		q.tag = ""
	}
	return q
}

func underscored(l string) bool { return len(l) > 1 && l[0] == '_' }

// hexIP decodes an addr label: 8 hex digits for IPv4, 32 for IPv6.
func hexIP(s string) net.IP {
	if len(s) != 8 && len(s) != 32 {
		return nil
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil
	}
	return net.IP(b)
}

// addrLabel encodes an IP as an addr label, the inverse of hexIP.
func addrLabel(ip net.IP) string {
	if v4 := ip.To4(); v4 != nil {
		return hex.EncodeToString(v4)
	}
	return hex.EncodeToString(ip.To16())
}
