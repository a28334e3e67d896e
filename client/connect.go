package client

import (
	"context"

	"github.com/roam-sh/roam/mesh/ca"
	"github.com/roam-sh/roam/mesh/intentions"
	"github.com/roam-sh/roam/structs"
)

// Connect is the node's side of the mesh's control plane (docs/mesh.md):
// the CA manager that makes leaf keys here and has the servers sign their
// CSRs, and the intentions cache kept fresh by blocking queries. The agent
// serves /v1/agent/connect/* from it; the proxy decides connections from
// it. Both run for as long as the client does.
type Connect struct {
	CA         *ca.Manager
	Intentions *intentions.Cache
	def        intentions.Policy
}

// Connect returns the node's mesh control plane.
func (c *Client) Connect() *Connect { return c.connect }

// Roots returns the trust bundle once its index passes minIndex.
func (m *Connect) Roots(ctx context.Context, minIndex uint64) (*ca.Roots, error) {
	return m.CA.Roots(ctx, minIndex)
}

// Leaf returns a service's certificate once its index passes minIndex.
func (m *Connect) Leaf(ctx context.Context, req ca.LeafRequest, minIndex uint64) (*ca.Leaf, error) {
	return m.CA.Leaf(ctx, req, minIndex)
}

// Authorize decides whether src may connect to dst from the node's cache.
func (m *Connect) Authorize(src, dst intentions.Service) intentions.Decision {
	return m.Intentions.Decide(src, dst)
}

// IntentionSet returns the node's intentions once their index passes
// minIndex, or the newest when ctx ends first: sidecar proxies block on it
// to learn of a change as soon as this node does.
func (m *Connect) IntentionSet(ctx context.Context, minIndex uint64) (*intentions.Set, error) {
	return m.Intentions.Wait(ctx, minIndex)
}

// forgetAlloc drops the leaves the allocation's tasks asked for with their
// workload identities: a destroyed allocation's certificates are neither
// renewed nor counted against the node's bound any longer.
func (m *Connect) forgetAlloc(a *structs.Allocation) {
	if m == nil || a == nil {
		return
	}
	tokens := make([]string, 0, len(a.SignedIdentities))
	for _, t := range a.SignedIdentities {
		tokens = append(tokens, t)
	}
	m.CA.Forget(tokens...)
}

// DefaultIntentionPolicy is what the node decides when no intention
// matches.
func (m *Connect) DefaultIntentionPolicy() intentions.Policy { return m.def }

func newConnect(c *Client) (*Connect, error) {
	def, err := intentions.ParsePolicy(c.cfg.DefaultIntentionPolicy)
	if err != nil {
		return nil, err
	}
	r := connectRPC{c: c}
	log := c.cfg.Logger.With("component", "connect")
	return &Connect{CA: ca.NewManager(r, log), Intentions: intentions.NewCache(r, def, log), def: def}, nil
}

// connectRPC reaches the servers' CA and intentions over the client's RPC.
type connectRPC struct{ c *Client }

func (r connectRPC) Roots(ctx context.Context, minIndex uint64) (*structs.CARootList, error) {
	q := &structs.QueryOptions{Region: r.c.cfg.Region, MinQueryIndex: minIndex, AllowStale: true}
	var out structs.CARootList
	if err := r.c.rpc(ctx, structs.MethodConnectCARoots, q, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func (r connectRPC) Sign(ctx context.Context, req *structs.CASignRequest) (*structs.IssuedCert, error) {
	req.Region, req.NodeID = r.c.cfg.Region, r.c.NodeID()
	var out structs.CASignResponse
	if err := r.c.rpc(ctx, structs.MethodConnectCASign, req, &out); err != nil {
		return nil, err
	}
	return out.Cert, nil
}

func (r connectRPC) ListIntentions(ctx context.Context, minIndex uint64) ([]*structs.Intention, uint64, error) {
	q := &structs.IntentionListRequest{QueryOptions: structs.QueryOptions{Region: r.c.cfg.Region, MinQueryIndex: minIndex, AllowStale: true}}
	var out structs.IntentionListResponse
	if err := r.c.rpc(ctx, structs.MethodIntentionList, q, &out); err != nil {
		return nil, 0, err
	}
	return out.Intentions, out.Index, nil
}
