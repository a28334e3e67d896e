package ca

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// caSigner is the servers' side in one process: a real CA whose roots the
// test can rotate, and a token check standing in for workload identities.
type caSigner struct {
	mu    sync.Mutex
	roots []*structs.CARoot
	index uint64
	ch    chan struct{}
	ttl   time.Duration
	seen  []string // every Sign request as JSON, to look for key material
}

func newCASigner(t *testing.T, ttl time.Duration) *caSigner {
	r, err := NewRoot(td, time.Now(), DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	r.Active = true
	return &caSigner{roots: []*structs.CARoot{r}, index: 1, ch: make(chan struct{}), ttl: ttl}
}

func (s *caSigner) rotate(t *testing.T) *structs.CARoot {
	next, err := NewRoot(td, time.Now(), DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.roots[len(s.roots)-1]
	if err := CrossSign(old, next, time.Now()); err != nil {
		t.Fatal(err)
	}
	old.Active, next.Active = false, true
	s.roots = append(s.roots, next)
	s.index++
	close(s.ch)
	s.ch = make(chan struct{})
	return next
}

func (s *caSigner) Roots(ctx context.Context, min uint64) (*structs.CARootList, error) {
	for {
		s.mu.Lock()
		idx, ch := s.index, s.ch
		l := &structs.CARootList{TrustDomain: td}
		for _, r := range s.roots {
			l.Roots = append(l.Roots, r.Public())
			if r.Active {
				l.ActiveRootID = r.ID
			}
		}
		l.Index = idx
		s.mu.Unlock()
		if idx > min {
			return l, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (s *caSigner) Sign(ctx context.Context, req *structs.CASignRequest) (*structs.IssuedCert, error) {
	b, _ := json.Marshal(req)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen = append(s.seen, string(b))
	if req.AuthToken != "good" {
		return nil, fmt.Errorf("identity refused: %w", structs.ErrPermissionDenied)
	}
	return Sign(s.roots[len(s.roots)-1], req.CSR, ServiceID{td, req.Namespace, "dc1", req.Service}, s.ttl, time.Now())
}

func startManager(t *testing.T, s Signer, renewAt float64) *Manager {
	m := NewManager(s, testutil.Logger(t))
	m.renewAt = func() float64 { return renewAt }
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go m.Run(ctx)
	if _, err := m.Roots(waitCtx(t), 0); err != nil {
		t.Fatal(err)
	}
	return m
}

func waitCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestLeafKeyStaysOnTheNode(t *testing.T) {
	s := newCASigner(t, time.Hour)
	m := startManager(t, s, 0.9)
	leaf, err := m.Leaf(waitCtx(t), LeafRequest{Namespace: "default", Service: "web", Token: "good"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if leaf.ID.Service != "web" || !strings.Contains(leaf.KeyPEM, "PRIVATE KEY") {
		t.Fatalf("leaf %+v", leaf.ID)
	}
	key := leaf.Cert.PrivateKey.(*ecdsa.PrivateKey)
	d := fmt.Sprintf("%x", key.D.Bytes())
	for _, req := range s.seen {
		if strings.Contains(req, "PRIVATE") || strings.Contains(strings.ToLower(req), d) {
			t.Fatalf("a sign request carried the private key: %s", req)
		}
	}
	if !strings.Contains(s.seen[0], "CERTIFICATE REQUEST") {
		t.Fatalf("the request carried no CSR: %s", s.seen[0])
	}
}

func TestLeafRefusedIdentityIsAnError(t *testing.T) {
	m := startManager(t, newCASigner(t, time.Hour), 0.9)
	_, err := m.Leaf(waitCtx(t), LeafRequest{Namespace: "default", Service: "web", Token: "forged"}, 0)
	if !errors.Is(err, structs.ErrPermissionDenied) {
		t.Fatalf("got %v, want permission denied", err)
	}
}

func TestLeafRenewedBeforeExpiry(t *testing.T) {
	m := startManager(t, newCASigner(t, 2*time.Second), 0.5)
	req := LeafRequest{Namespace: "default", Service: "web", Token: "good"}
	first, err := m.Leaf(waitCtx(t), req, 0)
	if err != nil {
		t.Fatal(err)
	}
	next, err := m.Leaf(waitCtx(t), req, first.Index)
	if err != nil {
		t.Fatal(err)
	}
	if next.SerialNumber == first.SerialNumber || !next.ValidBefore.After(first.ValidBefore) {
		t.Fatalf("no renewal: %s until %s, then %s until %s", first.SerialNumber, first.ValidBefore, next.SerialNumber, next.ValidBefore)
	}
	if !time.Now().Before(first.ValidBefore) {
		t.Fatal("renewed only after the first leaf expired")
	}
}

func TestLeafRenewedAtOnceOnRootChange(t *testing.T) {
	s := newCASigner(t, 72*time.Hour)
	m := startManager(t, s, 0.9)
	req := LeafRequest{Namespace: "default", Service: "web", Token: "good"}
	first, err := m.Leaf(waitCtx(t), req, 0)
	if err != nil {
		t.Fatal(err)
	}
	next := s.rotate(t)
	leaf, err := m.Leaf(waitCtx(t), req, first.Index)
	if err != nil {
		t.Fatal(err)
	}
	if leaf.RootID != next.ID {
		t.Fatalf("leaf after rotation signed by %s, want the new root %s", leaf.RootID, next.ID)
	}
	roots, err := m.Roots(waitCtx(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := roots.Verify(first.Cert.Certificate); err != nil {
		t.Fatalf("the leaf from before the rotation no longer verifies: %v", err)
	}
}

func TestRenewPointWithinBand(t *testing.T) {
	m := NewManager(nil, testutil.Logger(t))
	for range 1000 {
		if f := m.renewAt(); f < 0.6 || f > 0.9 {
			t.Fatalf("renewal at %.3f of life, want 0.6–0.9", f)
		}
	}
}

// The leaves of a destroyed allocation are forgotten: they stop holding a
// place in the node's bound, so churn never locks new allocations out.
func TestForgetFreesTheNodesLeaves(t *testing.T) {
	m := startManager(t, newCASigner(t, time.Hour), 0.9)
	m.maxLeaves = 2
	for _, svc := range []string{"web", "api"} {
		if _, err := m.Leaf(waitCtx(t), LeafRequest{Namespace: "default", Service: svc, Token: "good"}, 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.Leaf(waitCtx(t), LeafRequest{Namespace: "default", Service: "db", Token: "good"}, 0); !errors.Is(err, ErrTooManyLeaves) {
		t.Fatalf("past the bound: %v, want ErrTooManyLeaves", err)
	}
	m.Forget("good")
	if _, err := m.Leaf(waitCtx(t), LeafRequest{Namespace: "default", Service: "db", Token: "good"}, 0); err != nil {
		t.Fatalf("after the allocation's leaves were forgotten: %v", err)
	}
}
