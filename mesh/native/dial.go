package native

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxAttempts is how many instances one Dial tries before it gives up.
const maxAttempts = 3

// dialTimeout bounds one attempt (TCP connect and handshake).
const dialTimeout = 5 * time.Second

// instance is one entry of /v1/health/connect/:service: a sidecar proxy of
// the destination or a native instance of it.
type instance struct {
	Node    struct{ Address string }
	Service struct {
		Address string
		Port    int
	}
}

// Dial opens an mTLS connection to a passing instance of service, found
// through the catalog (/v1/health/connect/<service>?passing: its sidecar
// proxies and its native instances), round robin; a failed attempt tries
// the next instance. The server must prove it is service.
func (s *Service) Dial(ctx context.Context, service string) (net.Conn, error) {
	addrs, err := s.resolve(ctx, service)
	if err != nil {
		return nil, err
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("dial %s: no passing instance", service)
	}
	start := int(s.next.Add(1))
	var errs []error
	for i := range min(maxAttempts, len(addrs)) {
		addr := addrs[(start+i)%len(addrs)]
		c, err := s.DialAddr(ctx, service, addr)
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("dial %s: %w", service, errors.Join(errs...))
}

// DialAddr opens an mTLS connection to addr, which must prove it is
// service (Consul's StaticResolver). Once the roots no longer trust the
// server's chain (its root pruned after a rotation) the connection is
// closed after Config.RecycleGrace.
func (s *Service) DialAddr(ctx context.Context, service, addr string) (net.Conn, error) {
	cfg, err := s.clientTLS(service)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	d := tls.Dialer{Config: cfg}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", addr, err)
	}
	tc := c.(*tls.Conn)
	s.recycle.track(tc.NetConn(), rawChain(tc.ConnectionState()))
	return c, nil
}

func (s *Service) resolve(ctx context.Context, service string) ([]string, error) {
	q := s.query()
	q.Set("passing", "true")
	var out []instance
	if _, err := s.agent.Do(ctx, http.MethodGet, "/v1/health/connect/"+url.PathEscape(service), q, nil, &out); err != nil {
		return nil, fmt.Errorf("resolve %s: %w", service, err)
	}
	addrs := make([]string, 0, len(out))
	for _, in := range out {
		host := in.Service.Address
		if host == "" {
			host = in.Node.Address
		}
		addrs = append(addrs, net.JoinHostPort(host, strconv.Itoa(in.Service.Port)))
	}
	return addrs, nil
}

// HTTPClient is an HTTP client over the mesh: a request to
// https://<service>.service.consul/… dials service with Dial (the port in
// the URL is ignored). Other hosts are refused.
func (s *Service) HTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialTLSContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			svc, ok := strings.CutSuffix(host, ".service.consul")
			if !ok || svc == "" {
				return nil, fmt.Errorf("%s is not <service>.service.consul", host)
			}
			return s.Dial(ctx, svc)
		},
		// One connection per request would cost a handshake each time.
		MaxIdleConnsPerHost: 8,
	}}
}
