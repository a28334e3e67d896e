package native

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"time"

	"github.com/roam-sh/roam/mesh/ca"
)

// authorizeTimeout bounds the agent's answer during a handshake.
const authorizeTimeout = 5 * time.Second

// ServerTLSConfig is the configuration to serve with (tls.Listen,
// http.Server.TLSConfig). Every handshake takes the current leaf and
// roots, requires a client certificate that chains to the roots and names
// a service of this trust domain, and asks the agent whether that service
// may call this one (intentions); a denied client fails the handshake.
// Intentions apply at the handshake only: unlike roam's proxies, a native
// server does not close open connections on a later deny. Trust does not:
// once the roots no longer trust a client's chain (its root pruned after a
// rotation) the connection is closed after Config.RecycleGrace.
//
// The checks run in VerifyConnection, which Go calls on every handshake,
// where VerifyPeerCertificate is skipped on a resumed session; and no
// session tickets are issued at all, so a client cannot skip the checks
// by resuming (a deny intention or a pruned root would not apply to it).
func (s *Service) ServerTLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:             tls.VersionTLS12,
		ClientAuth:             tls.RequireAnyClientCert,
		SessionTicketsDisabled: true,
		GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			leaf, roots, err := s.current()
			if err != nil {
				return nil, err
			}
			return &tls.Config{
				MinVersion:             tls.VersionTLS12,
				ClientAuth:             tls.RequireAnyClientCert,
				SessionTicketsDisabled: true,
				Certificates:           []tls.Certificate{*leaf},
				NextProtos:             nextProtos(hello),
				VerifyConnection: func(cs tls.ConnectionState) error {
					raw := rawChain(cs)
					if err := s.verifyClient(hello.Context(), roots, raw); err != nil {
						return err
					}
					s.recycle.track(hello.Conn, raw)
					return nil
				},
			}, nil
		},
	}
}

// nextProtos keeps HTTP/2 for clients that offer it (an http.Server over
// this configuration), and nothing else.
func nextProtos(hello *tls.ClientHelloInfo) []string {
	for _, p := range hello.SupportedProtos {
		if p == "h2" {
			return []string{"h2", "http/1.1"}
		}
	}
	return nil
}

// authorizeResponse is /v1/agent/connect/authorize's answer.
type authorizeResponse struct {
	Authorized bool
	Reason     string
}

func (s *Service) verifyClient(ctx context.Context, roots *ca.Roots, raw [][]byte) error {
	id, leaf, err := roots.Verify(raw)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, authorizeTimeout)
	defer cancel()
	in := map[string]string{"Target": s.cfg.Service, "ClientCertURI": id.String(), "ClientCertSerial": colonHex(leaf.SerialNumber.Bytes())}
	var out authorizeResponse
	if _, err := s.agent.Do(ctx, http.MethodPost, "/v1/agent/connect/authorize", s.query(), in, &out); err != nil {
		return fmt.Errorf("authorize %s: %w", id, err)
	}
	if !out.Authorized {
		return fmt.Errorf("authz denied: %s", out.Reason)
	}
	return nil
}

// clientTLS dials as this service and accepts only a server whose chain
// verifies against the current roots and whose SPIFFE ID names want (in
// the namespace, when one is set). Go's host name check is replaced by
// that check, hence InsecureSkipVerify. The check is in VerifyConnection
// (run on every handshake, resumed or not) and there is no
// ClientSessionCache: every dial is a full handshake.
func (s *Service) clientTLS(want string) (*tls.Config, error) {
	leaf, roots, err := s.current()
	if err != nil {
		return nil, err
	}
	ns := s.cfg.Namespace
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		Certificates:       []tls.Certificate{*leaf},
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			id, _, err := roots.Verify(rawChain(cs))
			if err != nil {
				return err
			}
			if id.Service != want || (ns != "" && id.Namespace != ns) {
				return fmt.Errorf("server is %s, want service %q", id, want)
			}
			return nil
		},
	}, nil
}

func colonHex(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, len(b)*3)
	for i, c := range b {
		if i > 0 {
			out = append(out, ':')
		}
		out = append(out, digits[c>>4], digits[c&0xf])
	}
	return string(out)
}
