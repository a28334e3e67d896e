package api

import (
	"net/http"
	"net/url"

	"github.com/roam-sh/roam/structs"
)

// Nodes is the node endpoints.
type Nodes struct{ c *Client }

// Nodes returns the node endpoints.
func (c *Client) Nodes() *Nodes { return &Nodes{c: c} }

func nodePath(id, rest string) string { return "/v1/node/" + url.PathEscape(id) + rest }

// List lists client nodes.
func (n *Nodes) List(q *QueryOptions) ([]*NodeListStub, *QueryMeta, error) {
	var out []*NodeListStub
	qm, err := n.c.query("/v1/nodes", &out, q)
	return out, qm, err
}

// Info returns one node by its full ID.
func (n *Nodes) Info(id string, q *QueryOptions) (*Node, *QueryMeta, error) {
	var out Node
	qm, err := n.c.query(nodePath(id, ""), &out, q)
	if err != nil {
		return nil, nil, err
	}
	return &out, qm, nil
}

// Allocations lists the allocations placed on a node, in full.
func (n *Nodes) Allocations(id string, q *QueryOptions) ([]*Allocation, *QueryMeta, error) {
	var out []*Allocation
	qm, err := n.c.query(nodePath(id, "/allocations"), &out, q)
	return out, qm, err
}

// UpdateDrain starts draining a node (spec != nil) or stops (spec == nil);
// markEligible makes a node whose drain is stopped eligible again.
func (n *Nodes) UpdateDrain(id string, spec *DrainSpec, markEligible bool, w *WriteOptions) (*NodeDrainUpdateResponse, error) {
	req := &NodeUpdateDrainRequest{NodeID: id, DrainSpec: spec, MarkEligible: markEligible}
	var out NodeDrainUpdateResponse
	if _, err := n.c.write(http.MethodPut, nodePath(id, "/drain"), req, &out, w); err != nil {
		return nil, err
	}
	return &out, nil
}

// ToggleEligibility marks a node eligible or ineligible for new work.
func (n *Nodes) ToggleEligibility(id string, eligible bool, w *WriteOptions) (*NodeEligibilityUpdateResponse, error) {
	e := structs.NodeSchedulingIneligible
	if eligible {
		e = structs.NodeSchedulingEligible
	}
	req := &NodeUpdateEligibilityRequest{NodeID: id, Eligibility: string(e)}
	var out NodeEligibilityUpdateResponse
	if _, err := n.c.write(http.MethodPut, nodePath(id, "/eligibility"), req, &out, w); err != nil {
		return nil, err
	}
	return &out, nil
}

// Evaluate forces evaluations of the jobs with work on a node.
func (n *Nodes) Evaluate(id string, w *WriteOptions) (*NodeEvalResponse, error) {
	var out NodeEvalResponse
	if _, err := n.c.write(http.MethodPut, nodePath(id, "/evaluate"), nil, &out, w); err != nil {
		return nil, err
	}
	return &out, nil
}
