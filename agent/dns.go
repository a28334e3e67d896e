package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
	"time"

	"github.com/roam-sh/roam/dns"
)

// DNSConfig is the dns block (docs/dns.md): the agent answers
// <svc>.service.consul and the other names of dns/doc.go on ports.dns.
type DNSConfig struct {
	// Enabled serves DNS (default true: every agent answers).
	Enabled bool
	// BindAddr is the address DNS listens on (default 127.0.0.1, Consul's
	// client_addr default: an agent that forwards other names must not be
	// an open resolver on the network unless the operator says so).
	BindAddr string
	// Domain and AltDomain: consul and roam.
	Domain, AltDomain string
	// ServiceTTL and NodeTTL of the answers (Consul's default 0).
	ServiceTTL, NodeTTL time.Duration
	// Recursors answer other names; empty reads /etc/resolv.conf.
	Recursors       []string
	RecursorTimeout time.Duration
	// MaxForwards and MaxTCPConns bound forwarded queries in flight and
	// open TCP connections (dns.Default*).
	MaxForwards, MaxTCPConns int
	// portSet: ports.dns came from a file, so a port already taken is an
	// error; the default port taken (another agent on this host) only
	// turns this agent's DNS off, with a warning.
	portSet bool
}

// DefaultDNSConfig is the dns block's defaults.
func DefaultDNSConfig() DNSConfig {
	return DNSConfig{
		Enabled: true, BindAddr: "127.0.0.1", Domain: dns.DefaultDomain, AltDomain: dns.DefaultAltDomain,
		RecursorTimeout: dns.DefaultRecursorTimeout, MaxForwards: dns.DefaultMaxForwards, MaxTCPConns: dns.DefaultMaxTCPConns,
	}
}

type fileDNS struct {
	Enabled         *bool    `hcl:"enabled,optional"`
	BindAddr        *string  `hcl:"bind_addr,optional"`
	Domain          *string  `hcl:"domain,optional"`
	AltDomain       *string  `hcl:"alt_domain,optional"`
	ServiceTTL      *string  `hcl:"service_ttl,optional"`
	NodeTTL         *string  `hcl:"node_ttl,optional"`
	Recursors       []string `hcl:"recursors,optional"`
	RecursorTimeout *string  `hcl:"recursor_timeout,optional"`
	MaxForwards     *int     `hcl:"max_forwards,optional"`
	MaxTCPConns     *int     `hcl:"max_tcp_conns,optional"`
}

// merge lays a file's dns block over d.
func (d *DNSConfig) merge(f *fileDNS) error {
	if f == nil {
		return nil
	}
	setBool(&d.Enabled, f.Enabled)
	setStr(&d.BindAddr, f.BindAddr)
	setStr(&d.Domain, f.Domain)
	setStr(&d.AltDomain, f.AltDomain)
	setInt(&d.MaxForwards, f.MaxForwards)
	setInt(&d.MaxTCPConns, f.MaxTCPConns)
	if f.Recursors != nil {
		d.Recursors = f.Recursors
	}
	for _, t := range []struct {
		dst *time.Duration
		src *string
		key string
	}{{&d.ServiceTTL, f.ServiceTTL, "dns.service_ttl"}, {&d.NodeTTL, f.NodeTTL, "dns.node_ttl"}, {&d.RecursorTimeout, f.RecursorTimeout, "dns.recursor_timeout"}} {
		if err := setDuration(t.dst, t.src, t.key); err != nil {
			return err
		}
	}
	return nil
}

func (d *DNSConfig) validate(port int) []error {
	if !d.Enabled {
		return nil
	}
	var errs []error
	if net.ParseIP(d.BindAddr) == nil {
		errs = append(errs, fmt.Errorf("dns.bind_addr %q is not an IP address", d.BindAddr))
	}
	if port < 0 || port > 65535 {
		errs = append(errs, fmt.Errorf("ports.dns %d is out of range", port))
	}
	if d.MaxForwards < 1 || d.MaxTCPConns < 1 {
		errs = append(errs, errors.New("dns.max_forwards and dns.max_tcp_conns must be at least 1"))
	}
	if err := d.serverConfig("", "").Validate(); err != nil {
		errs = append(errs, err)
	}
	return errs
}

func (d *DNSConfig) serverConfig(addr, dc string) dns.Config {
	return dns.Config{
		Addr: addr, Domain: d.Domain, AltDomain: d.AltDomain, Datacenter: dc,
		ServiceTTL: d.ServiceTTL, NodeTTL: d.NodeTTL, Recursors: d.Recursors,
		RecursorTimeout: d.RecursorTimeout, MaxForwards: d.MaxForwards, MaxTCPConns: d.MaxTCPConns,
	}
}

// startDNS serves DNS on dns.bind_addr:ports.dns from the catalog.
func (a *Agent) startDNS() error {
	d := a.cfg.DNS
	if !d.Enabled {
		return nil
	}
	addr := net.JoinHostPort(d.BindAddr, strconv.Itoa(a.cfg.Ports.DNS))
	cfg := d.serverConfig(addr, a.cfg.Datacenter)
	if len(cfg.Recursors) == 0 {
		rs, err := dns.ResolvConfServers("/etc/resolv.conf")
		if err != nil {
			a.logger.Warn("dns: no recursors: other names are refused", "error", err)
		}
		cfg.Recursors = withoutSelf(rs, addr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a.dnsCancel = cancel
	srv, err := dns.New(cfg, newDNSCatalog(ctx, a.rpc, a.logger), a.logger)
	if err != nil {
		return err
	}
	a.dns = srv
	if err := srv.Listen(addr); err != nil {
		if errors.Is(err, syscall.EADDRINUSE) && !d.portSet {
			a.logger.Error("dns: the default port is taken (another agent?): this agent answers no DNS; set ports { dns = ... }", "addr", addr, "error", err)
			return nil
		}
		return err
	}
	a.logger.Info("dns: answering", "addr", srv.Addr(), "domains", []string{d.Domain, d.AltDomain}, "recursors", cfg.Recursors)
	return nil
}

// withoutSelf drops the agent's own DNS address from the recursors, so a
// host whose resolv.conf names the agent does not loop.
func withoutSelf(recursors []string, self string) []string {
	out := recursors[:0:0]
	for _, r := range recursors {
		if r != self {
			out = append(out, r)
		}
	}
	return out
}

// DNSAddr is the address DNS answers on ("127.0.0.1:8600"), "" when off.
func (a *Agent) DNSAddr() string {
	if a.dns == nil {
		return ""
	}
	return a.dns.Addr()
}

func (a *Agent) stopDNS() {
	if a.dns != nil {
		a.dns.Shutdown()
	}
	if a.dnsCancel != nil {
		a.dnsCancel()
	}
}
