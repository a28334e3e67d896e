package dns

import (
	"context"
	"math/rand/v2"
	"net"
	"strings"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/roam-sh/roam/services"
	"github.com/roam-sh/roam/structs"
)

// answerer builds answers for names under the server's zones.
type answerer struct {
	cat        Catalog
	dc         string
	serviceTTL uint32
	nodeTTL    uint32
}

// answer fills m (already a reply to r) for the question q under zone.
// A name that exists with no record of the asked type is NODATA (NOERROR,
// empty answer); a name that does not exist is NXDOMAIN; both carry the
// zone's SOA in the authority section, so resolvers may cache them (RFC
// 2308).
func (a *answerer) answer(ctx context.Context, m *mdns.Msg, q mdns.Question, zone string) {
	m.Authoritative = true
	pq := parseName(q.Name, zone)
	var exists bool
	var err error
	switch pq.kind {
	case kindApex:
		exists = true
		if q.Qtype == mdns.TypeSOA || q.Qtype == mdns.TypeANY {
			m.Answer = append(m.Answer, a.soa(zone))
		}
	case kindService:
		exists, err = a.services(ctx, m, q, pq)
	case kindNode:
		exists, err = a.node(ctx, m, q, pq)
	case kindAddr:
		exists = pq.dc == "" || strings.EqualFold(pq.dc, a.dc)
		if exists {
			m.Answer = appendIP(m.Answer, q.Name, q.Qtype, pq.ip, a.serviceTTL)
		}
	}
	switch {
	case err != nil:
		m.Rcode = mdns.RcodeServerFailure
	case !exists:
		m.Rcode = mdns.RcodeNameError
	}
	if len(m.Answer) == 0 && err == nil {
		m.Ns = append(m.Ns, a.soa(zone))
	}
}

// wantDC reports whether a registration's datacenter is the one asked for.
func (a *answerer) wantDC(dc, asked string) bool {
	if asked == "" {
		asked = a.dc
	}
	return asked == "" || strings.EqualFold(dc, asked)
}

// instances are the service's routable instances in the asked datacenter
// with the asked tag, shuffled.

func (a *answerer) instances(ctx context.Context, pq query) ([]*structs.ServiceRegistration, error) {
	all, err := a.cat.ServiceInstances(ctx, pq.name)
	if err != nil {
		return nil, err
	}
	out := make([]*structs.ServiceRegistration, 0, len(all))
	for _, r := range all {
		// An instance without an address cannot be reached by any record.
		if r.Address == "" || !strings.EqualFold(r.ServiceName, pq.name) || !a.wantDC(r.Datacenter, pq.dc) || !services.Routable(r) {
			continue
		}
		if pq.tag != "" && !hasTag(r.Tags, pq.tag) {
			continue
		}
		out = append(out, r)
	}
	rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out, nil
}

func hasTag(tags []string, want string) bool {
	for _, t := range tags {
		if strings.EqualFold(t, want) {
			return true
		}
	}
	return false
}

func (a *answerer) services(ctx context.Context, m *mdns.Msg, q mdns.Question, pq query) (bool, error) {
	regs, err := a.instances(ctx, pq)
	if err != nil || len(regs) == 0 {
		return false, err
	}
	switch q.Qtype {
	case mdns.TypeSRV:
		a.srv(m, q, pq, regs)
	case mdns.TypeA, mdns.TypeAAAA, mdns.TypeANY:
		seen := map[string]bool{}
		for _, r := range regs {
			ip := net.ParseIP(r.Address)
			if ip == nil || seen[ip.String()] {
				continue
			}
			seen[ip.String()] = true
			m.Answer = appendIP(m.Answer, q.Name, q.Qtype, ip, a.serviceTTL)
		}
	}
	return true, nil
}

// srv answers one SRV record per instance. An instance with an IP address
// gets an <hex ip>.addr target, its address record in the additional
// section (a client needs no second query); one with a host name gets
// that name as its target.
func (a *answerer) srv(m *mdns.Msg, q mdns.Question, pq query, regs []*structs.ServiceRegistration) {
	dc := pq.dc
	if dc == "" {
		dc = a.dc
	}
	extra := map[string]bool{}
	for _, r := range regs {
		target := mdns.Fqdn(r.Address)
		ip := net.ParseIP(r.Address)
		if ip != nil {
			target = addrLabel(ip) + ".addr." + dcLabel(dc) + pq.domain
		}
		if _, ok := mdns.IsDomainName(target); !ok || r.Port < 0 || r.Port > 65535 {
			continue
		}
		m.Answer = append(m.Answer, &mdns.SRV{
			Hdr:      mdns.RR_Header{Name: q.Name, Rrtype: mdns.TypeSRV, Class: mdns.ClassINET, Ttl: a.serviceTTL},
			Priority: 1, Weight: 1, Port: uint16(r.Port), Target: target,
		})
		if ip != nil && !extra[target] {
			extra[target] = true
			m.Extra = appendIP(m.Extra, target, mdns.TypeANY, ip, a.serviceTTL)
		}
	}
}

func dcLabel(dc string) string {
	if dc == "" {
		return ""
	}
	return strings.ToLower(dc) + "."
}

func (a *answerer) node(ctx context.Context, m *mdns.Msg, q mdns.Question, pq query) (bool, error) {
	n, err := a.cat.Node(ctx, pq.name)
	if err != nil || n == nil || !a.wantDC(n.Datacenter, pq.dc) {
		return false, err
	}
	if ip := net.ParseIP(n.Address); ip != nil {
		m.Answer = appendIP(m.Answer, q.Name, q.Qtype, ip, a.nodeTTL)
	}
	return true, nil
}

// appendIP appends ip as an A or AAAA record when the question's type asks
// for that family (ANY asks for both).
func appendIP(rrs []mdns.RR, name string, qtype uint16, ip net.IP, ttl uint32) []mdns.RR {
	if v4 := ip.To4(); v4 != nil {
		if qtype == mdns.TypeA || qtype == mdns.TypeANY {
			rrs = append(rrs, &mdns.A{Hdr: mdns.RR_Header{Name: name, Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: ttl}, A: v4})
		}
		return rrs
	}
	if qtype == mdns.TypeAAAA || qtype == mdns.TypeANY {
		rrs = append(rrs, &mdns.AAAA{Hdr: mdns.RR_Header{Name: name, Rrtype: mdns.TypeAAAA, Class: mdns.ClassINET, Ttl: ttl}, AAAA: ip.To16()})
	}
	return rrs
}

// soa is the zone's start of authority. Its minimum is the negative-caching
// TTL (RFC 2308), the service TTL, so a name that appears is not hidden
// longer than a changed one.
func (a *answerer) soa(zone string) *mdns.SOA {
	return &mdns.SOA{
		Hdr:     mdns.RR_Header{Name: zone, Rrtype: mdns.TypeSOA, Class: mdns.ClassINET, Ttl: a.serviceTTL},
		Ns:      "ns." + zone,
		Mbox:    "hostmaster." + zone,
		Serial:  uint32(time.Now().Unix()),
		Refresh: 3600, Retry: 600, Expire: 86400,
		Minttl: a.serviceTTL,
	}
}
