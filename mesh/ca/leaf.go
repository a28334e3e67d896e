package ca

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/roam-sh/roam/internal/backoff"
	"github.com/roam-sh/roam/structs"
)

// Signer is how a node reaches the servers' CA; the client implements it
// over RPC. Roots blocks while the servers' roots index is at most
// minIndex (0 answers at once).
type Signer interface {
	Roots(ctx context.Context, minIndex uint64) (*structs.CARootList, error)
	Sign(ctx context.Context, req *structs.CASignRequest) (*structs.IssuedCert, error)
}

// LeafRequest names the certificate a workload wants: a service of its
// allocation, proven by the workload identity in Token.
type LeafRequest struct {
	Namespace string
	Service   string
	Token     string
}

// Leaf is a service's certificate with the private key generated on this
// node. The key is never sent anywhere: the servers see only the CSR.
type Leaf struct {
	ID           ServiceID
	Cert         tls.Certificate // chain and key, ready for tls.Config
	CertPEM      string          // leaf and intermediates
	KeyPEM       string
	SerialNumber string
	ValidAfter   time.Time
	ValidBefore  time.Time
	RootID       string
	Index        uint64 // grows with every new certificate on this node
}

// ErrTooManyLeaves is returned past the node's bound of cached leaves.
var ErrTooManyLeaves = errors.New("too many connect leaf certificates on this node")

// maxLeaves bounds the certificates one node keeps and renews.
const maxLeaves = 4096

// Manager is a node's side of the CA: it watches the roots and keeps one
// leaf per requested (namespace, service, identity), generating keys here,
// renewing each at a random point of 60–90 % of its life and at once when
// the active root changes. Callers block on an index, like a blocking query.
type Manager struct {
	signer Signer
	log    *slog.Logger
	// renewAt picks the fraction of a leaf's life at which it is renewed.
	renewAt func() float64
	// maxLeaves bounds the entries (tests lower it).
	maxLeaves int

	mu      sync.Mutex
	roots   *Roots
	rootsCh chan struct{} // closed and replaced when roots change
	leaves  map[LeafRequest]*leafEntry
	index   uint64
	ctx     context.Context
}

type leafEntry struct {
	cancel  context.CancelFunc // stops keeping the leaf (Forget)
	leaf    *Leaf
	err     error         // the last failure while no leaf is held
	changed chan struct{} // closed and replaced when leaf or err change
	renew   chan struct{} // ask the entry's loop to renew now
}

// NewManager returns a manager; Run starts it.
func NewManager(s Signer, log *slog.Logger) *Manager {
	return &Manager{
		signer: s, log: log, maxLeaves: maxLeaves, renewAt: func() float64 { return 0.6 + 0.3*mrand.Float64() },
		rootsCh: make(chan struct{}), leaves: map[LeafRequest]*leafEntry{}, ctx: context.Background(),
	}
}

// Run watches the roots until ctx ends; leaves live as long as ctx.
func (m *Manager) Run(ctx context.Context) {
	m.mu.Lock()
	m.ctx = ctx
	m.mu.Unlock()
	b := backoff.Backoff{Min: 100 * time.Millisecond, Max: 10 * time.Second}
	var index uint64
	for ctx.Err() == nil {
		l, err := m.signer.Roots(ctx, index)
		if err == nil && l.Index != index {
			err = m.setRoots(l)
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			m.log.Warn("watch connect CA roots", "error", err)
			sleep(ctx, b.Next())
			continue
		}
		b.Reset()
		index = l.Index
	}
}

func (m *Manager) setRoots(l *structs.CARootList) error {
	r, err := NewRoots(l)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	rotated := m.roots != nil && m.roots.ActiveRootID != r.ActiveRootID
	m.roots = r
	close(m.rootsCh)
	m.rootsCh = make(chan struct{})
	if rotated {
		m.log.Info("connect CA root changed: renewing leaves", "active_root", r.ActiveRootID, "leaves", len(m.leaves))
		for _, e := range m.leaves {
			select {
			case e.renew <- struct{}{}:
			default:
			}
		}
	}
	return nil
}

// Roots returns the bundle once its index exceeds minIndex, or the newest
// when ctx ends first (nil if none arrived yet, with ctx's error).
func (m *Manager) Roots(ctx context.Context, minIndex uint64) (*Roots, error) {
	for {
		m.mu.Lock()
		r, ch := m.roots, m.rootsCh
		m.mu.Unlock()
		if r != nil && r.Index > minIndex {
			return r, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			if r != nil {
				return r, nil
			}
			return nil, fmt.Errorf("connect CA roots: %w", ctx.Err())
		}
	}
}

// Leaf returns the request's certificate once its Index exceeds minIndex,
// or the current one when ctx ends first. The first request for a key
// starts its renewal loop; a refusal by the servers (an identity that does
// not allow the service) is returned and the entry dropped.
func (m *Manager) Leaf(ctx context.Context, req LeafRequest, minIndex uint64) (*Leaf, error) {
	e, err := m.entry(req)
	if err != nil {
		return nil, err
	}
	for {
		m.mu.Lock()
		leaf, lerr, ch := e.leaf, e.err, e.changed
		m.mu.Unlock()
		switch {
		case leaf != nil && leaf.Index > minIndex:
			return leaf, nil
		case leaf == nil && lerr != nil:
			return nil, lerr
		}
		select {
		case <-ch:
		case <-ctx.Done():
			if leaf != nil {
				return leaf, nil
			}
			return nil, fmt.Errorf("connect leaf %s: %w", req.Service, ctx.Err())
		}
	}
}

func (m *Manager) entry(req LeafRequest) (*leafEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.leaves[req]; e != nil {
		return e, nil
	}
	if len(m.leaves) >= m.maxLeaves {
		return nil, ErrTooManyLeaves
	}
	ctx, cancel := context.WithCancel(m.ctx)
	e := &leafEntry{cancel: cancel, changed: make(chan struct{}), renew: make(chan struct{}, 1)}
	m.leaves[req] = e
	go m.keep(ctx, req, e)
	return e, nil
}

// Forget stops keeping the leaves requested with any of tokens: the node
// calls it when an allocation is destroyed, so its leaves neither hold a
// place in the node's bound nor get renewed for days after.
func (m *Manager) Forget(tokens ...string) {
	if len(tokens) == 0 {
		return
	}
	gone := make(map[string]bool, len(tokens))
	for _, t := range tokens {
		gone[t] = true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for req, e := range m.leaves {
		if gone[req.Token] {
			e.cancel()
			delete(m.leaves, req)
		}
	}
}

// keep issues the entry's leaf and renews it until ctx ends or the servers
// refuse the identity (the allocation is gone).
func (m *Manager) keep(ctx context.Context, req LeafRequest, e *leafEntry) {
	b := backoff.Backoff{Min: 200 * time.Millisecond, Max: 30 * time.Second}
	for ctx.Err() == nil {
		leaf, err := m.issue(ctx, req)
		if err != nil {
			if m.fail(req, e, err) {
				return
			}
			sleep(ctx, b.Next())
			continue
		}
		b.Reset()
		m.publish(e, leaf)
		// Life counts from receipt, not ValidAfter: the servers backdate
		// that by a minute, which would make short lives renew at once.
		got := time.Now()
		life := leaf.ValidBefore.Sub(got)
		wait := time.Until(got.Add(time.Duration(float64(life) * m.renewAt())))
		t := time.NewTimer(max(wait, 0))
		select {
		case <-ctx.Done():
		case <-t.C:
		case <-e.renew:
		}
		t.Stop()
	}
}

// fail records an issue failure; it reports whether the entry is dropped:
// a refusal is final, other errors are retried while a leaf is still held.
func (m *Manager) fail(req LeafRequest, e *leafEntry, err error) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	final := errors.Is(err, structs.ErrPermissionDenied) || errors.Is(err, structs.ErrBadRequest) || errors.Is(err, errBadRequest)
	m.log.Warn("connect leaf", "service", req.Service, "error", err, "final", final)
	if e.leaf == nil || final {
		e.err = err
		close(e.changed)
		e.changed = make(chan struct{})
	}
	if final || e.leaf == nil {
		if m.leaves[req] == e { // not an entry made after a Forget
			delete(m.leaves, req)
		}
		return true
	}
	return false
}

func (m *Manager) publish(e *leafEntry, leaf *Leaf) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.index++
	leaf.Index = m.index
	e.leaf, e.err = leaf, nil
	close(e.changed)
	e.changed = make(chan struct{})
}

var errBadRequest = errors.New("bad leaf request")

// issue generates a key here, sends only its CSR and pairs the signed
// chain with the key.
func (m *Manager) issue(ctx context.Context, req LeafRequest) (*Leaf, error) {
	if req.Service == "" || req.Token == "" {
		return nil, fmt.Errorf("%w: a service and a workload identity are required", errBadRequest)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate leaf key: %w", err)
	}
	csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: commonName(req.Service)}}, key)
	if err != nil {
		return nil, fmt.Errorf("create CSR: %w", err)
	}
	sreq := &structs.CASignRequest{CSR: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER})), Service: req.Service}
	sreq.Namespace, sreq.AuthToken = req.Namespace, req.Token
	ic, err := m.signer.Sign(ctx, sreq)
	if err != nil {
		return nil, fmt.Errorf("sign leaf for service %q: %w", req.Service, err)
	}
	return newLeaf(ic, key)
}

func newLeaf(ic *structs.IssuedCert, key *ecdsa.PrivateKey) (*Leaf, error) {
	kp, err := keyPEM(key)
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair([]byte(ic.CertPEM), []byte(kp))
	if err != nil {
		return nil, fmt.Errorf("leaf key pair: %w", err)
	}
	id, err := ParseServiceID(ic.ServiceURI)
	if err != nil {
		return nil, err
	}
	return &Leaf{
		ID: id, Cert: cert, CertPEM: ic.CertPEM, KeyPEM: kp, SerialNumber: ic.SerialNumber,
		ValidAfter: ic.ValidAfter, ValidBefore: ic.ValidBefore, RootID: ic.RootID,
	}, nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
