package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"slices"

	"github.com/roam-sh/roam/mesh/ca"
)

// muxProto is the ALPN protocol two roam proxies agree on to carry many
// application connections over one mTLS connection (mux.go). Version 3
// added the session window: a sender of version 2 never waits for
// session credit, a receiver of version 2 never returns it, so the two do
// not mix; a proxy of version 2 gets a plain connection either way.
const muxProto = "roam-mux/3"

// legacyMuxProto is what proxies of earlier versions (yamux) offer and
// select. A new proxy offers it after muxProto, because such a server
// refuses the handshake of a client whose protocols it shares none of
// (crypto/tls); when one selects it, the dialler connects again without
// ALPN, which that server serves as one connection per stream. A new
// server never selects it: an old client then gets a plain connection.
const legacyMuxProto = "roam-mux/1"

// Certs is where the proxy's identity comes from. Current is called for
// every handshake, so a renewed leaf or a rotated root takes effect on the
// next connection without a restart and without dropping open ones.
type Certs interface {
	// Current returns the leaf (with its intermediates in Certificate) and
	// the roots peers must chain to.
	Current() (*tls.Certificate, *ca.Roots, error)
}

// CertsWatcher is a Certs that announces a new leaf or new roots. With
// one, the proxy acts on a change at once instead of at the next
// handshake: new application connections go over sessions made with the
// new leaf (open streams finish on the old ones), and connections whose
// peer the new roots no longer trust (the old root pruned after a
// rotation) are recycled.
type CertsWatcher interface {
	// Changes receives a value after the leaf or the roots changed;
	// signals may coalesce.
	Changes() <-chan struct{}
}

type peerIDKey struct{}

// serverTLS accepts TLS 1.3 only and requires a client certificate that
// chains to the current roots and names a service; authorization happens
// after the handshake (inbound.go) so that a deny can be logged and counted.
// The chain is checked in VerifyConnection, which Go runs on every
// handshake (VerifyPeerCertificate is skipped on a resumed session), and
// no session tickets are issued: proxies keep one long-lived multiplexed
// connection, so resumption saves nothing, and a resumed session would
// outlive the pruning of the root it was made under.
func serverTLS(certs Certs) *tls.Config {
	return &tls.Config{
		MinVersion:             tls.VersionTLS13,
		ClientAuth:             tls.RequireAnyClientCert,
		SessionTicketsDisabled: true,
		GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			leaf, roots, err := certs.Current()
			if err != nil {
				return nil, fmt.Errorf("no leaf certificate: %w", err)
			}
			return &tls.Config{
				MinVersion:             tls.VersionTLS13,
				NextProtos:             serverProtos(hello),
				ClientAuth:             tls.RequireAnyClientCert,
				SessionTicketsDisabled: true,
				Certificates:           []tls.Certificate{*leaf},
				// Full-size records from the first byte: the peer is a
				// proxy or an application, not a browser rendering the
				// first bytes while the rest arrives.
				DynamicRecordSizingDisabled: true,
				VerifyConnection: func(cs tls.ConnectionState) error {
					_, _, err := roots.Verify(rawChain(cs))
					return err
				},
			}, nil
		},
	}
}

// serverProtos selects muxProto for a proxy that offers it and ignores
// ALPN otherwise (a connect-native application, or a proxy of an earlier
// version), so such a client gets a plain connection, not a refusal.
func serverProtos(hello *tls.ClientHelloInfo) []string {
	if slices.Contains(hello.SupportedProtos, muxProto) {
		return []string{muxProto}
	}
	return nil
}

// clientTLS dials as our service and accepts only a server whose
// certificate chains to the current roots, is of their trust domain and
// names want. Go's own hostname
// verification is replaced by that SPIFFE check, hence InsecureSkipVerify.
// The check is in VerifyConnection (run on resumed handshakes too) and
// there is no ClientSessionCache: every dial is a full handshake.
func clientTLS(certs Certs, want string, namespace string, mux bool) (*tls.Config, error) {
	leaf, roots, err := certs.Current()
	if err != nil {
		return nil, fmt.Errorf("no leaf certificate: %w", err)
	}
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS13,
		Certificates:       []tls.Certificate{*leaf},
		InsecureSkipVerify: true,
		// Full-size records from the first byte (see serverTLS).
		DynamicRecordSizingDisabled: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			id, _, err := roots.Verify(rawChain(cs))
			if err != nil {
				return err
			}
			if id.Service != want || (namespace != "" && id.Namespace != namespace) {
				return fmt.Errorf("server is %s, want service %q", id, want)
			}
			return nil
		},
	}
	if mux {
		cfg.NextProtos = []string{muxProto, legacyMuxProto}
	}
	return cfg, nil
}

// rawChain is the peer's certificate chain as it was sent, to be checked
// again against later roots.
func rawChain(cs tls.ConnectionState) [][]byte {
	raw := make([][]byte, len(cs.PeerCertificates))
	for i, c := range cs.PeerCertificates {
		raw[i] = c.Raw
	}
	return raw
}

// trusted reports whether a chain still verifies against roots.
func trusted(roots *ca.Roots, chain [][]byte) bool {
	_, _, err := roots.Verify(chain)
	return err == nil
}

// peerID returns the verified service of a finished server-side handshake.
func peerID(cs tls.ConnectionState) (ca.ServiceID, error) {
	if len(cs.PeerCertificates) == 0 || len(cs.PeerCertificates[0].URIs) != 1 {
		return ca.ServiceID{}, errors.New("peer sent no certificate with one SPIFFE ID")
	}
	return ca.ServiceIDFromURI(cs.PeerCertificates[0].URIs[0])
}

// handshake runs a TLS handshake bounded by ctx.
func handshake(ctx context.Context, c *tls.Conn) error {
	return c.HandshakeContext(ctx)
}
