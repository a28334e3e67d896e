package proxy

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/roam-sh/roam/mesh/ca"
)

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
// handshake: connections whose peer the new roots no longer trust (the
// old root pruned after a rotation) are recycled.
type CertsWatcher interface {
	// Changes receives a value after the leaf or the roots changed;
	// signals may coalesce.
	Changes() <-chan struct{}
}

// proxyProto is the ALPN protocol a roam proxy offers when it dials and
// selects when it serves: the dialling proxy remembers a session (its
// ticket) only from a server that selected it. A connect-native
// application may authorize its client in VerifyPeerCertificate, which
// crypto/tls skips on a resumed session, so a proxy never resumes with
// one; a roam proxy authorizes every connection after its handshake.
const proxyProto = "roam-proxy/1"

// legacyMuxProto is what proxies of earlier versions (one yamux session
// per proxy pair) offer and select. Such a server selects it when a new
// proxy offers it alongside proxyProto (offering proxyProto alone would
// fail its handshake: crypto/tls refuses a client whose protocols it
// shares none of); the dialler then connects again without ALPN, which
// that server serves as one connection per application connection.
const legacyMuxProto = "roam-mux/1"

// serverTLS accepts TLS 1.3 only and requires a client certificate that
// chains to the current roots and names a service; authorization happens
// after the handshake (inbound.go) so that a deny can be logged and counted.
//
// Session tickets are on: a client that comes back resumes its session
// (see dialer). The ticket keys are this Config's, made by crypto/tls for
// this process and rotated by it, so a ticket is worth nothing to another
// proxy or after a restart. The peer is verified in VerifyConnection,
// which crypto/tls calls on resumed handshakes too (VerifyPeerCertificate
// it does not): a resumed session's chain is checked against the roots
// of now, not those of the session's first handshake.
func serverTLS(certs Certs, v *verifier) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		ClientAuth: tls.RequireAnyClientCert,
		GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			leaf, roots, err := certs.Current()
			if err != nil {
				return nil, fmt.Errorf("no leaf certificate: %w", err)
			}
			return &tls.Config{
				MinVersion:   tls.VersionTLS13,
				ClientAuth:   tls.RequireAnyClientCert,
				Certificates: []tls.Certificate{*leaf},
				NextProtos:   serverProtos(hello),
				VerifyConnection: func(cs tls.ConnectionState) error {
					_, err := v.verify(roots, cs.PeerCertificates)
					return err
				},
				// Full-size records from the first byte: the peer is a
				// proxy, not a browser waiting to render the first bytes.
				DynamicRecordSizingDisabled: true,
			}, nil
		},
	}
}

// serverProtos selects proxyProto for a roam proxy that offers it and
// ignores ALPN otherwise: a proxy of an earlier version (legacyMuxProto
// only) or an application that offers its own protocol gets a plain
// connection instead of a refused handshake.
func serverProtos(hello *tls.ClientHelloInfo) []string {
	if slices.Contains(hello.SupportedProtos, proxyProto) {
		return []string{proxyProto}
	}
	return nil
}

// clientTLS dials as leaf's service and accepts only a server whose
// certificate chains to roots, is of their trust domain and names want.
// Go's own hostname verification is replaced by that SPIFFE check, hence
// InsecureSkipVerify; the check is in VerifyConnection so that it runs on
// resumed sessions too.
func clientTLS(leaf *tls.Certificate, roots *ca.Roots, v *verifier, want, namespace string) *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS13,
		NextProtos:         []string{proxyProto, legacyMuxProto},
		Certificates:       []tls.Certificate{*leaf},
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			id, err := v.verify(roots, cs.PeerCertificates)
			if err != nil {
				return err
			}
			if id.Service != want || (namespace != "" && id.Namespace != namespace) {
				return fmt.Errorf("server is %s, want service %q", id, want)
			}
			return nil
		},
		DynamicRecordSizingDisabled: true,
	}
}

// verifiedCacheSize bounds the chains a verifier remembers; when full it
// starts over (a proxy talks to few services, each with one or two leaves
// at a time).
const verifiedCacheSize = 1024

// verifier checks peer chains against roots and remembers the chains it
// verified against the roots it last saw, so that a resumed handshake
// costs a hash and a look-up instead of parsing and two signature checks
// on each side (about as much CPU as the rest of the handshake). An entry
// holds until the chain's first certificate expires or other roots come;
// a chain that failed is not remembered.
type verifier struct {
	mu    sync.Mutex
	roots *ca.Roots
	ok    map[[32]byte]verified
}

type verified struct {
	id       ca.ServiceID
	notAfter time.Time
}

func newVerifier() *verifier { return &verifier{ok: map[[32]byte]verified{}} }

// verify returns the service a chain (leaf first) names if it verifies
// against roots.
func (v *verifier) verify(roots *ca.Roots, chain []*x509.Certificate) (ca.ServiceID, error) {
	if len(chain) == 0 {
		return ca.ServiceID{}, errors.New("verify peer: no certificate")
	}
	key, notAfter := chainKey(chain)
	now := time.Now()
	v.mu.Lock()
	if v.roots != roots {
		v.roots, v.ok = roots, map[[32]byte]verified{}
	}
	e, hit := v.ok[key]
	v.mu.Unlock()
	if hit && now.Before(e.notAfter) {
		return e.id, nil
	}
	raw := make([][]byte, len(chain))
	for i, c := range chain {
		raw[i] = c.Raw
	}
	id, _, err := roots.Verify(raw)
	if err != nil {
		return ca.ServiceID{}, err
	}
	v.mu.Lock()
	if v.roots == roots {
		if len(v.ok) >= verifiedCacheSize {
			v.ok = map[[32]byte]verified{}
		}
		v.ok[key] = verified{id: id, notAfter: notAfter}
	}
	v.mu.Unlock()
	return id, nil
}

// chainKey is a digest of a chain's certificates and the earliest end of
// their validity.
func chainKey(chain []*x509.Certificate) ([32]byte, time.Time) {
	h := sha256.New()
	notAfter := chain[0].NotAfter
	for _, c := range chain {
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(c.Raw))))
		h.Write(c.Raw)
		if c.NotAfter.Before(notAfter) {
			notAfter = c.NotAfter
		}
	}
	var key [32]byte
	h.Sum(key[:0])
	return key, notAfter
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
