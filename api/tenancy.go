package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/roam-sh/roam/structs"
)

// Namespaces, node pools and variables share the domain types.
type (
	Namespace        = structs.Namespace
	NodePool         = structs.NodePool
	Variable         = structs.VariableDecrypted
	VariableMetadata = structs.VariableMetadata
	VariableItems    = structs.VariableItems
	VariableLock     = structs.VariableLock
)

// Namespaces is the namespace endpoints.
type Namespaces struct{ c *Client }

// Namespaces returns the namespace endpoints.
func (c *Client) Namespaces() *Namespaces { return &Namespaces{c: c} }

// List lists namespaces, sorted by name.
func (n *Namespaces) List(q *QueryOptions) ([]*Namespace, *QueryMeta, error) {
	var out []*Namespace
	qm, err := n.c.query("/v1/namespaces", &out, q)
	return out, qm, err
}

// Info returns one namespace.
func (n *Namespaces) Info(name string, q *QueryOptions) (*Namespace, *QueryMeta, error) {
	var out Namespace
	qm, err := n.c.query("/v1/namespace/"+url.PathEscape(name), &out, q)
	if err != nil {
		return nil, nil, err
	}
	return &out, qm, nil
}

// Register creates or updates a namespace.
func (n *Namespaces) Register(ns *Namespace, w *WriteOptions) (*WriteMeta, error) {
	return n.c.write(http.MethodPut, "/v1/namespace", ns, nil, w)
}

// Delete deletes an empty namespace.
func (n *Namespaces) Delete(name string, w *WriteOptions) (*WriteMeta, error) {
	return n.c.write(http.MethodDelete, "/v1/namespace/"+url.PathEscape(name), nil, nil, w)
}

// NodePools is the node pool endpoints.
type NodePools struct{ c *Client }

// NodePools returns the node pool endpoints.
func (c *Client) NodePools() *NodePools { return &NodePools{c: c} }

func poolPath(name, rest string) string { return "/v1/node/pool/" + url.PathEscape(name) + rest }

// List lists pools, sorted by name.
func (p *NodePools) List(q *QueryOptions) ([]*NodePool, *QueryMeta, error) {
	var out []*NodePool
	qm, err := p.c.query("/v1/node/pools", &out, q)
	return out, qm, err
}

// Info returns one pool.
func (p *NodePools) Info(name string, q *QueryOptions) (*NodePool, *QueryMeta, error) {
	var out NodePool
	qm, err := p.c.query(poolPath(name, ""), &out, q)
	if err != nil {
		return nil, nil, err
	}
	return &out, qm, nil
}

// Register creates or updates a pool.
func (p *NodePools) Register(pool *NodePool, w *WriteOptions) (*WriteMeta, error) {
	return p.c.write(http.MethodPut, "/v1/node/pools", pool, nil, w)
}

// Delete deletes a pool no node or job uses.
func (p *NodePools) Delete(name string, w *WriteOptions) (*WriteMeta, error) {
	return p.c.write(http.MethodDelete, poolPath(name, ""), nil, nil, w)
}

// ListNodes lists a pool's nodes.
func (p *NodePools) ListNodes(name string, q *QueryOptions) ([]*NodeListStub, *QueryMeta, error) {
	var out []*NodeListStub
	qm, err := p.c.query(poolPath(name, "/nodes"), &out, q)
	return out, qm, err
}

// ListJobs lists a pool's jobs (in the query's namespace, * for all).
func (p *NodePools) ListJobs(name string, q *QueryOptions) ([]*JobListStub, *QueryMeta, error) {
	var out []*JobListStub
	qm, err := p.c.query(poolPath(name, "/jobs"), &out, q)
	return out, qm, err
}

// Variables is the variable endpoints.
type Variables struct{ c *Client }

// Variables returns the variable endpoints.
func (c *Client) Variables() *Variables { return &Variables{c: c} }

// ErrVariableNotFound is returned by Read for a path that holds nothing.
var ErrVariableNotFound = errors.New("variable not found")

// CASConflictError is returned when a check-and-set write or a lock
// operation finds the variable changed: Conflict is the variable as it is.
type CASConflictError struct {
	CheckIndex uint64
	Conflict   *Variable
}

func (e *CASConflictError) Error() string {
	if e.Conflict == nil {
		return "check-and-set conflict"
	}
	if e.Conflict.Lock != nil {
		return fmt.Sprintf("variable %s is locked by another holder", e.Conflict.Path)
	}
	return fmt.Sprintf("check-and-set conflict: expected index %d, the variable is at %d", e.CheckIndex, e.Conflict.ModifyIndex)
}

func varPath(path string) string { return "/v1/var/" + strings.Trim(path, " /") }

// List lists variables' metadata (Prefix filters by path).
func (v *Variables) List(q *QueryOptions) ([]*VariableMetadata, *QueryMeta, error) {
	var out []*VariableMetadata
	qm, err := v.c.query("/v1/vars", &out, q)
	return out, qm, err
}

// Read returns one variable; ErrVariableNotFound when absent.
func (v *Variables) Read(path string, q *QueryOptions) (*Variable, *QueryMeta, error) {
	var out Variable
	qm, err := v.c.query(varPath(path), &out, q)
	if IsNotFound(err) {
		return nil, nil, ErrVariableNotFound
	}
	if err != nil {
		return nil, nil, err
	}
	return &out, qm, nil
}

// Put writes a variable; with checkIndex set (0: must not exist yet) only
// if the variable is still at that index.
func (v *Variables) Put(in *Variable, checkIndex *uint64, w *WriteOptions) (*Variable, *WriteMeta, error) {
	path := varPath(in.Path)
	if checkIndex != nil {
		path += "?cas=" + strconv.FormatUint(*checkIndex, 10)
	}
	return v.writeVar(http.MethodPut, path, in, checkIndex, w)
}

// Delete deletes a variable; with checkIndex set only if it is still at
// that index.
func (v *Variables) Delete(path string, checkIndex *uint64, w *WriteOptions) (*WriteMeta, error) {
	p := varPath(path)
	if checkIndex != nil {
		p += "?cas=" + strconv.FormatUint(*checkIndex, 10)
	}
	_, wm, err := v.writeVar(http.MethodDelete, p, nil, checkIndex, w)
	return wm, err
}

// AcquireLock takes the lock of a variable (created when absent); the
// answer carries the lock ID to renew and release it with.
func (v *Variables) AcquireLock(in *Variable, w *WriteOptions) (*Variable, *WriteMeta, error) {
	return v.writeVar(http.MethodPut, varPath(in.Path)+"?lock-acquire", in, nil, w)
}

// RenewLock extends a held lock by its TTL.
func (v *Variables) RenewLock(in *Variable, w *WriteOptions) (*WriteMeta, error) {
	_, wm, err := v.writeVar(http.MethodPut, varPath(in.Path)+"?lock-renew", in, nil, w)
	return wm, err
}

// ReleaseLock releases a held lock.
func (v *Variables) ReleaseLock(in *Variable, w *WriteOptions) (*Variable, *WriteMeta, error) {
	rel := &Variable{VariableMetadata: VariableMetadata{Path: in.Path, Lock: in.Lock}}
	return v.writeVar(http.MethodPut, varPath(in.Path)+"?lock-release", rel, nil, w)
}

// writeVar sends a variable write; a 409 becomes a *CASConflictError.
func (v *Variables) writeVar(method, path string, in *Variable, checkIndex *uint64, w *WriteOptions) (*Variable, *WriteMeta, error) {
	var out Variable
	var body any
	if in != nil {
		body = in
	}
	wm, err := v.c.write(method, path, body, &out, w)
	var se *StatusError
	if errors.As(err, &se) && se.Code == http.StatusConflict {
		ce := &CASConflictError{}
		if checkIndex != nil {
			ce.CheckIndex = *checkIndex
		}
		var cur Variable
		if json.Unmarshal([]byte(se.Body), &cur) == nil {
			ce.Conflict = &cur
		}
		return nil, nil, ce
	}
	if err != nil {
		return nil, nil, err
	}
	return &out, wm, nil
}
