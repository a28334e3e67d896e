package dns

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	mdns "github.com/miekg/dns"
)

// Defaults, each as Consul's where Consul has the setting.
const (
	// DefaultPort is Consul's DNS port.
	DefaultPort = 8600
	// DefaultDomain is the domain Consul users' names end in.
	DefaultDomain = "consul"
	// DefaultAltDomain is roam's own name, answered alongside.
	DefaultAltDomain = "roam"
	// DefaultMaxForwards bounds the queries forwarded at once: past it a
	// query is answered SERVFAIL at once instead of holding a goroutine
	// and a socket while the recursors are slow.
	DefaultMaxForwards = 128
	// DefaultMaxTCPConns bounds the open TCP connections; the next waits
	// in the kernel's backlog until one closes.
	DefaultMaxTCPConns = 256
	// DefaultRecursorTimeout is how long one recursor is given.
	DefaultRecursorTimeout = 2 * time.Second
)

// Config says where and how the server answers.
type Config struct {
	// Addr is the udp and tcp address ("127.0.0.1:8600"); port 0 picks one
	// free for both.
	Addr string
	// Domain and AltDomain are the zones answered from the catalog; the
	// alternative may be empty.
	Domain, AltDomain string
	// Datacenter is the agent's: names without a datacenter label ask for
	// it, as in Consul.
	Datacenter string
	// ServiceTTL and NodeTTL are the TTLs of service and node records (0,
	// Consul's default, lets nothing cache them).
	ServiceTTL, NodeTTL time.Duration
	// Recursors ("ip:port") answer every other name; nil reads the host's
	// /etc/resolv.conf (ResolvConfServers).
	Recursors []string
	// RecursorTimeout bounds one exchange with one recursor.
	RecursorTimeout time.Duration
	// MaxForwards bounds forwarded queries in flight.
	MaxForwards int
	// MaxTCPConns bounds open TCP connections per listener.
	MaxTCPConns int
}

// WithDefaults fills zero fields.
func (c Config) WithDefaults() Config {
	if c.Domain == "" {
		c.Domain = DefaultDomain
	}
	if c.RecursorTimeout <= 0 {
		c.RecursorTimeout = DefaultRecursorTimeout
	}
	if c.MaxForwards <= 0 {
		c.MaxForwards = DefaultMaxForwards
	}
	if c.MaxTCPConns <= 0 {
		c.MaxTCPConns = DefaultMaxTCPConns
	}
	return c
}

// Validate reports every problem.
func (c Config) Validate() error {
	var errs []error
	for _, d := range []struct{ key, v string }{{"domain", c.Domain}, {"alt_domain", c.AltDomain}} {
		if d.v == "" {
			continue
		}
		if _, ok := mdns.IsDomainName(d.v); !ok || strings.Contains(strings.Trim(d.v, "."), "..") {
			errs = append(errs, fmt.Errorf("dns.%s %q is not a domain name", d.key, d.v))
		}
	}
	if c.AltDomain != "" && mdns.CanonicalName(c.AltDomain) == mdns.CanonicalName(c.Domain) {
		errs = append(errs, fmt.Errorf("dns.alt_domain %q is the same as dns.domain", c.AltDomain))
	}
	if c.ServiceTTL < 0 || c.NodeTTL < 0 {
		errs = append(errs, errors.New("dns.service_ttl and dns.node_ttl must not be negative"))
	}
	for _, r := range c.Recursors {
		if _, err := recursorAddr(r); err != nil {
			errs = append(errs, fmt.Errorf("dns.recursors: %w", err))
		}
	}
	return errors.Join(errs...)
}

// recursorAddr accepts "ip" or "ip:port" and returns "ip:port".
func recursorAddr(s string) (string, error) {
	if ip := net.ParseIP(s); ip != nil {
		return net.JoinHostPort(ip.String(), "53"), nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil || net.ParseIP(host) == nil || port == "" {
		return "", fmt.Errorf("%q is not an IP address or IP:port", s)
	}
	return s, nil
}

// ResolvConfServers reads the nameservers of a resolv.conf file as
// "ip:port", in order.
func ResolvConfServers(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "nameserver" {
			continue
		}
		// A link-local address names its interface after '%': keep it whole.
		if a, err := recursorAddr(f[1]); err == nil {
			out = append(out, a)
		} else if strings.Contains(f[1], "%") {
			out = append(out, net.JoinHostPort(f[1], "53"))
		}
	}
	return out, nil
}
