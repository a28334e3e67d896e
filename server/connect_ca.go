package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/roam-sh/roam/mesh/ca"
	"github.com/roam-sh/roam/structs"
)

// connectCA is the servers' side of the mesh's certificate authority
// (docs/mesh.md). The leader creates the first root when it takes over and
// builds rotated roots; both reach every server through Raft, with their
// private keys, so any later leader signs with the same intermediate.
// Leaves are signed by whichever server receives the request (any server
// holds the keys), only for a service the requesting allocation's group
// declares in a connect block, proven by its workload identity.
type connectCA struct {
	srv *Server
	cfg ca.Config
	mu  sync.Mutex // one root creation or rotation at a time
	// signing bounds concurrent CSR signatures (Consul's CSRMaxConcurrent):
	// a flood of requests queues here instead of taking every CPU.
	signing chan struct{}
}

// maxConcurrentSigning is how many leaves one server signs at once.
const maxConcurrentSigning = 8

func newConnectCA(s *Server) *connectCA {
	cfg := ca.DefaultConfig()
	cfg.LeafTTL = s.cfg.ConnectLeafTTL
	return &connectCA{srv: s, cfg: cfg, signing: make(chan struct{}, maxConcurrentSigning)}
}

// active returns the active root (with its keys) and the whole set.
func (c *connectCA) active() (*structs.CARoot, []*structs.CARoot, error) {
	roots, _, err := c.srv.state.CARoots(nil)
	if err != nil {
		return nil, nil, err
	}
	for _, r := range roots {
		if r.Active {
			return r, roots, nil
		}
	}
	return nil, roots, nil
}

// ensureRoot creates the first root on the leader; the trust domain's
// cluster ID is generated with it, as Consul's is when its CA starts.
func (c *connectCA) ensureRoot() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, _, err := c.active(); err != nil || r != nil {
		return err
	}
	root, err := ca.NewRoot(ca.TrustDomain(structs.GenerateUUID()), time.Now(), c.cfg)
	if err != nil {
		return err
	}
	root.Active = true
	if _, _, err := c.srv.raftApply(structs.CARootsUpsertRequestType, &structs.CARootsUpsertRequest{Roots: []*structs.CARoot{root}}); err != nil {
		return fmt.Errorf("store connect CA root: %w", err)
	}
	c.srv.logger.Info("connect CA root created", "root_id", root.ID, "trust_domain", root.TrustDomain)
	return nil
}

// maxCARoots is the most roots the connect CA keeps, the active one
// included. A rotated-out root stays twice the leaf TTL (pruneDelay, six
// days by default), so without a bound a loop of rotations piles them up:
// 2,000 rotations left 2,001 roots, a 5.4 MB roots answer every node
// fetches on each change, each change making every node renew every leaf.
// Eight leave room for several rotations in a row (a rotation, then another
// to replace a root that leaked) and stop a loop; a rotation at the cap is
// refused until the oldest rotated-out root is pruned.
const maxCARoots = 8

// errCARootsCap is the FSM's refusal of an entry that would take the roots
// past the cap: a rotation racing another passed the leader's check
// (connectCA.rotate) against roots the other had not yet added to.
var errCARootsCap = errors.New("connect CA root cap reached")

// capError is the refusal of a rotation while the roots are at the cap:
// it says when the oldest rotated-out root leaves, which is when a
// rotation is accepted again.
func (c *connectCA) capError(roots []*structs.CARoot, now time.Time) error {
	msg := fmt.Sprintf("rotate connect CA: %d roots are kept, the most allowed (%d, the active one included)", len(roots), maxCARoots)
	_, next := prunable(roots, now, pruneDelay(c.cfg.LeafTTL))
	if next.IsZero() {
		msg += "; the oldest rotated-out root is being pruned: retry in a moment"
	} else {
		msg += fmt.Sprintf("; the oldest rotated-out root is pruned in %s (twice connect_leaf_cert_ttl after its rotation): rotate again then", next.Sub(now).Round(time.Second))
	}
	return &CodedError{Code: http.StatusBadRequest, Msg: msg, Err: structs.ErrBadRequest}
}

// rotate makes a fresh root active, cross-signed by the one it replaces;
// the old root stays in the set (inactive, RotatedOutAt set) so leaves it
// signed keep verifying until they are renewed, and runPruning removes it
// once none of them can be alive.
func (c *connectCA) rotate() (*structs.CARoot, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old, all, err := c.active()
	if err != nil {
		return nil, err
	}
	if old == nil {
		return nil, fmt.Errorf("rotate connect CA: no active root yet")
	}
	now := time.Now()
	if len(all) >= maxCARoots {
		return nil, c.capError(all, now)
	}
	next, err := ca.NewRoot(old.TrustDomain, now, c.cfg)
	if err != nil {
		return nil, err
	}
	if err := ca.CrossSign(old, next, now); err != nil {
		return nil, err
	}
	next.Active = true
	retired := *old
	retired.Active, retired.RotatedOutAt = false, now
	req := &structs.CARootsUpsertRequest{Roots: []*structs.CARoot{&retired, next}, MaxRoots: maxCARoots}
	if _, _, err := c.srv.raftApply(structs.CARootsUpsertRequestType, req); err != nil {
		if errors.Is(err, errCARootsCap) {
			if _, all, lerr := c.active(); lerr == nil {
				return nil, c.capError(all, time.Now())
			}
		}
		return nil, fmt.Errorf("store rotated connect CA root: %w", err)
	}
	c.srv.logger.Info("connect CA root rotated", "old_root", old.ID, "new_root", next.ID, "roots", len(all)+1)
	return next, nil
}

// publicList is the roots as clients see them: no keys, active first
// named in ActiveRootID, expired roots left out.
func publicList(roots []*structs.CARoot, now time.Time) *structs.CARootList {
	l := &structs.CARootList{Roots: []*structs.CARoot{}}
	for _, r := range roots {
		if now.After(r.NotAfter) {
			continue
		}
		l.Roots = append(l.Roots, r.Public())
		l.TrustDomain = r.TrustDomain
		if r.Active {
			l.ActiveRootID = r.ID
		}
	}
	return l
}

// sign authorises and signs one leaf.
func (c *connectCA) sign(ctx context.Context, args *structs.CASignRequest) (*structs.IssuedCert, error) {
	id, err := c.authorize(args)
	if err != nil {
		return nil, err
	}
	root, _, err := c.active()
	if err != nil {
		return nil, err
	}
	if root == nil {
		return nil, fmt.Errorf("sign connect leaf: %w", structs.ErrNoLeader)
	}
	id.TrustDomain = root.TrustDomain
	select {
	case c.signing <- struct{}{}:
		defer func() { <-c.signing }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	ic, err := ca.Sign(root, args.CSR, id, c.cfg.LeafTTL, time.Now())
	if err != nil {
		return nil, badRequest("%v", err)
	}
	return ic, nil
}

// authorize checks the workload identity and that the allocation's group
// declares the service with a connect block (sidecar or native). The ID's
// namespace is the allocation's, its datacenter the allocation's node's.
func (c *connectCA) authorize(args *structs.CASignRequest) (ca.ServiceID, error) {
	if args.AuthToken == "" {
		return ca.ServiceID{}, permissionDenied("a connect leaf certificate requires the workload identity of an allocation that declares the service")
	}
	claims, err := c.srv.VerifyIdentity(args.AuthToken)
	if err != nil {
		return ca.ServiceID{}, permissionDenied(err.Error())
	}
	if args.Namespace != "" && args.Namespace != claims.Namespace {
		return ca.ServiceID{}, permissionDenied(fmt.Sprintf("identity of namespace %q may not request a certificate in namespace %q", claims.Namespace, args.Namespace))
	}
	a, err := c.srv.state.AllocByID(nil, claims.AllocationID)
	if err != nil || a == nil {
		return ca.ServiceID{}, permissionDenied(fmt.Sprintf("allocation %s not found", claims.AllocationID))
	}
	if a.NodeID != args.NodeID {
		return ca.ServiceID{}, permissionDenied(fmt.Sprintf("allocation %s does not run on node %q: a leaf is made only on the allocation's node", a.ID, args.NodeID))
	}
	if !declaresConnect(a.LookupTaskGroup(), args.Service) {
		return ca.ServiceID{}, permissionDenied(fmt.Sprintf("group %q of job %q declares no connect service %q", claims.TaskGroup, claims.JobID, args.Service))
	}
	dc := c.srv.cfg.Datacenter
	if n, err := c.srv.state.NodeByID(nil, a.NodeID); err == nil && n != nil && n.Datacenter != "" {
		dc = n.Datacenter
	}
	return ca.ServiceID{Namespace: a.Namespace, Datacenter: dc, Service: args.Service}, nil
}

// declaresConnect reports whether the group (or one of its tasks) has a
// service of that name in the mesh: with a sidecar or connect-native.
func declaresConnect(tg *structs.TaskGroup, name string) bool {
	if tg == nil || name == "" {
		return false
	}
	inMesh := func(list []*structs.Service) bool {
		for _, s := range list {
			if s != nil && s.Name == name && s.Connect != nil && (s.Connect.HasSidecar() || s.Connect.Native) {
				return true
			}
		}
		return false
	}
	if inMesh(tg.Services) {
		return true
	}
	for _, t := range tg.Tasks {
		if inMesh(t.Services) {
			return true
		}
	}
	return false
}
