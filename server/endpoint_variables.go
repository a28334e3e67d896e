package server

import (
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/roam-sh/roam/state"
	"github.com/roam-sh/roam/structs"
)

// variablesEndpoint serves Variables.*: encrypted key/value items under a
// path, per namespace (docs/variables.md). Writes are decided on the leader
// (items sealed, lock IDs and times stamped) and land through Raft only if
// the variable did not change meanwhile (VarApplyStateRequest.Check).
//
// Authorisation: a request without a token is served as today's agent
// serves every request (roam has no ACL system yet). A request with a
// token must carry a valid workload identity, which may read and list only
// its own job's paths (nomad/jobs/<job>[/<group>[/<task>]]) and nomad/jobs
// in its namespace, and may not write: Nomad's built-in workload policy.
type variablesEndpoint struct{ srv *Server }

// varApplyAttempts bounds the retries of a write that raced another write
// of the same variable.
const varApplyAttempts = 5

// Apply writes, deletes, locks or unlocks one variable.
func (e *variablesEndpoint) Apply(args *structs.VariablesApplyRequest, reply *structs.VariablesApplyResponse) error {
	if done, err := e.srv.forward(structs.MethodVariablesApply, false, args, reply); done {
		return err
	}
	if args.Var == nil {
		return badRequest("missing variable")
	}
	if _, err := structs.ParseVarOp(string(args.Op)); err != nil {
		return badRequest("%v", err)
	}
	v := args.Var
	v.Namespace = namespaceOf(firstSet(v.Namespace, args.Namespace))
	if err := e.checkWrite(args); err != nil {
		return err
	}
	for range varApplyAttempts {
		cur, err := e.srv.state.VariableByPath(nil, v.Namespace, v.Path)
		if err != nil {
			return err
		}
		plan, err := e.plan(args.Op, v, cur, time.Now())
		if err != nil {
			return err
		}
		if plan.conflict != nil {
			return e.conflict(reply, plan.conflict)
		}
		raw, index, err := e.srv.raftApply(structs.VarApplyStateRequestType, plan.entry)
		if err != nil {
			return stateWriteError("variable", v.Path, err)
		}
		resp, _ := raw.(*structs.VarApplyStateResponse)
		if resp != nil && resp.Conflict != nil {
			if args.Op == structs.VarOpCAS || args.Op == structs.VarOpDeleteCAS {
				return e.conflict(reply, resp.Conflict)
			}
			continue // another write landed between our read and our entry
		}
		reply.Index = index
		return e.output(reply, args.Op, plan.entry.Var, index)
	}
	return fmt.Errorf("variable %s: gave up after %d writes raced it", v.Path, varApplyAttempts)
}

func firstSet(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// checkWrite validates the request and its caller before any state read.
func (e *variablesEndpoint) checkWrite(args *structs.VariablesApplyRequest) error {
	v := args.Var
	if args.AuthToken != "" {
		claims, err := e.srv.VerifyIdentity(args.AuthToken)
		if err != nil {
			return permissionDenied(err.Error())
		}
		return permissionDenied(fmt.Sprintf("the workload identity of job %q may read variables, not write them", claims.JobID))
	}
	forLock := args.Op != structs.VarOpSet && args.Op != structs.VarOpCAS
	if args.Op == structs.VarOpDelete || args.Op == structs.VarOpDeleteCAS {
		if err := structs.ValidateVariablePath(v.Path); err != nil {
			return badRequest("%v", err)
		}
	} else if err := v.Validate(forLock); err != nil {
		return badRequest("%v", err)
	}
	ns, err := e.srv.state.NamespaceByName(nil, v.Namespace)
	if err != nil {
		return err
	}
	if ns == nil {
		return badRequest("namespace %q does not exist", v.Namespace)
	}
	return nil
}

// varPlan is what the leader decided for one write: the Raft entry, or a
// conflict to report without writing.
type varPlan struct {
	entry    *structs.VarApplyStateRequest
	conflict *structs.VariableEncrypted
}

// plan turns a request into the entry to propose, given the variable as it
// is now. The entry is checked against cur's ModifyIndex on apply.
func (e *variablesEndpoint) plan(op structs.VarOp, v *structs.VariableDecrypted, cur *structs.VariableEncrypted, now time.Time) (*varPlan, error) {
	entry := &structs.VarApplyStateRequest{Op: op, Check: true, CheckIndex: modifyIndexOf(cur)}
	if cur != nil {
		entry.Var = ptrCopy(cur)
	} else {
		entry.Var = &structs.VariableEncrypted{VariableMetadata: structs.VariableMetadata{Namespace: v.Namespace, Path: v.Path, CreateTime: now.UnixNano()}}
	}
	entry.Var.ModifyTime = now.UnixNano()
	held := cur != nil && cur.Lock != nil && now.UnixNano() < cur.LockExpires
	holder := held && v.Lock != nil && v.Lock.ID == cur.Lock.ID
	switch op {
	case structs.VarOpSet, structs.VarOpCAS:
		if op == structs.VarOpCAS && v.ModifyIndex != modifyIndexOf(cur) {
			return &varPlan{conflict: conflictOf(cur, v)}, nil
		}
		if held && !holder {
			return &varPlan{conflict: cur}, nil
		}
		if !held {
			entry.Var.Lock, entry.Var.LockExpires = nil, 0
		}
		return &varPlan{entry: entry}, e.seal(entry.Var, v.Items)
	case structs.VarOpDelete, structs.VarOpDeleteCAS:
		if op == structs.VarOpDeleteCAS && v.ModifyIndex != modifyIndexOf(cur) {
			return &varPlan{conflict: conflictOf(cur, v)}, nil
		}
		if held && !holder {
			return &varPlan{conflict: cur}, nil
		}
		return &varPlan{entry: entry}, nil
	case structs.VarOpLockAcquire:
		return e.planAcquire(entry, v, cur, now)
	case structs.VarOpLockRelease:
		if cur == nil {
			return nil, notFound("variable", v.Path)
		}
		if !holder {
			return &varPlan{conflict: cur}, nil
		}
		entry.Var.Lock, entry.Var.LockExpires = nil, 0
		return &varPlan{entry: entry}, nil
	case structs.VarOpLockRenew:
		if cur == nil {
			return nil, notFound("variable", v.Path)
		}
		if !holder {
			// A conflict, not an error: it reaches the HTTP API as the
			// 409 Nomad's lock leaser reads as "lost", also across RPC.
			return &varPlan{conflict: cur}, nil
		}
		entry.Var.LockExpires = now.Add(cur.Lock.TTL).UnixNano()
		return &varPlan{entry: entry}, nil
	}
	return nil, badRequest("unknown variable operation %q", op)
}

// planAcquire takes a lock that is free: never taken, released, or lapsed
// longer ago than its lock delay.
func (e *variablesEndpoint) planAcquire(entry *structs.VarApplyStateRequest, v *structs.VariableDecrypted, cur *structs.VariableEncrypted, now time.Time) (*varPlan, error) {
	if cur != nil && cur.Lock != nil && now.UnixNano() < cur.LockExpires+int64(cur.Lock.LockDelay) {
		return &varPlan{conflict: cur}, nil
	}
	lock := structs.VariableLock{}
	if v.Lock != nil {
		lock = *v.Lock
	}
	lock.Canonicalize()
	if err := lock.Validate(); err != nil {
		return nil, badRequest("%v", err)
	}
	lock.ID = structs.GenerateUUID()
	entry.Var.Lock, entry.Var.LockExpires = &lock, now.Add(lock.TTL).UnixNano()
	if len(v.Items) > 0 || cur == nil {
		if err := e.seal(entry.Var, v.Items); err != nil {
			return nil, err
		}
	}
	return &varPlan{entry: entry}, nil
}

// conflictOf is the variable a failed check-and-set reports: the stored
// one, or an empty one when the caller expected a variable that is gone.
func conflictOf(cur *structs.VariableEncrypted, v *structs.VariableDecrypted) *structs.VariableEncrypted {
	if cur != nil {
		return cur
	}
	return &structs.VariableEncrypted{VariableMetadata: structs.VariableMetadata{Namespace: v.Namespace, Path: v.Path}}
}

func (e *variablesEndpoint) seal(v *structs.VariableEncrypted, items structs.VariableItems) error {
	if items == nil {
		items = structs.VariableItems{}
	}
	var err error
	v.KeyID, v.Nonce, v.Ciphertext, err = e.srv.keyring.sealVariable(v.Namespace, v.Path, items)
	if err != nil {
		return fmt.Errorf("seal variable %s: %w", v.Path, err)
	}
	return nil
}

func modifyIndexOf(v *structs.VariableEncrypted) uint64 {
	if v == nil {
		return 0
	}
	return v.ModifyIndex
}

func ptrCopy[T any](v *T) *T {
	c := *v
	return &c
}

// conflict reports the variable as stored, decrypted (the caller may read
// it: only anonymous callers write), with the lock ID left out.
func (e *variablesEndpoint) conflict(reply *structs.VariablesApplyResponse, cur *structs.VariableEncrypted) error {
	dec, err := e.srv.keyring.openVariable(cur)
	if err != nil {
		return err
	}
	dec.VariableMetadata = *cur.Stub()
	reply.Conflict = dec
	reply.Index = cur.ModifyIndex
	return nil
}

// output is the answer of a successful write: the variable as written
// (items included, so a writer sees what landed), with the lock ID only
// when the write took the lock. A delete answers nothing.
func (e *variablesEndpoint) output(reply *structs.VariablesApplyResponse, op structs.VarOp, written *structs.VariableEncrypted, index uint64) error {
	if op == structs.VarOpDelete || op == structs.VarOpDeleteCAS {
		return nil
	}
	stored, err := e.srv.state.VariableByPath(nil, written.Namespace, written.Path)
	if err != nil || stored == nil {
		return err
	}
	dec, err := e.srv.keyring.openVariable(stored)
	if err != nil {
		return err
	}
	if op != structs.VarOpLockAcquire && op != structs.VarOpLockRenew {
		dec.VariableMetadata = *stored.Stub()
	}
	reply.Output = dec
	return nil
}

// Read returns one variable, decrypted, or nil.
func (e *variablesEndpoint) Read(args *structs.VariablesReadRequest, reply *structs.VariablesReadResponse) error {
	if done, err := e.srv.forward(structs.MethodVariablesRead, args.AllowStale, args, reply); done {
		return err
	}
	ns := namespaceOf(args.Namespace)
	if err := structs.ValidateVariablePath(args.Path); err != nil {
		return badRequest("%v", err)
	}
	claims, err := e.identity(args.AuthToken)
	if err != nil {
		return err
	}
	if claims != nil && !workloadMayRead(claims, ns, args.Path) {
		return permissionDenied(fmt.Sprintf("the workload identity of job %q (group %q, task %q) may not read variable %q in namespace %q",
			claims.JobID, claims.TaskGroup, claims.Task, args.Path, ns))
	}
	return e.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		v, err := st.VariableByPath(ws, ns, args.Path)
		if err != nil || v == nil {
			reply.Data = nil
			return st.VariablesIndex(ws), err
		}
		dec, err := e.srv.keyring.openVariable(v)
		if err != nil {
			return 0, err
		}
		dec.VariableMetadata = *v.Stub()
		reply.Data = dec
		return v.ModifyIndex, nil
	})
}

// List lists variables' metadata (never items) by namespace ("*" for all)
// and path prefix; a workload identity sees only the paths it may read.
func (e *variablesEndpoint) List(args *structs.VariablesListRequest, reply *structs.VariablesListResponse) error {
	if done, err := e.srv.forward(structs.MethodVariablesList, args.AllowStale, args, reply); done {
		return err
	}
	claims, err := e.identity(args.AuthToken)
	if err != nil {
		return err
	}
	return e.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		vars, err := st.Variables(ws, listNamespace(args.Namespace), args.Prefix)
		if err != nil {
			return 0, err
		}
		out := make([]*structs.VariableMetadata, 0, len(vars))
		for _, v := range vars {
			if claims == nil || workloadMayRead(claims, v.Namespace, v.Path) {
				out = append(out, v.Stub())
			}
		}
		if out, err = filterList(out, args.Filter); err != nil {
			return 0, err
		}
		reply.Data, reply.NextToken = paginate(out, func(m *structs.VariableMetadata) string { return m.Namespace + "\x00" + m.Path }, args.PerPage, args.NextToken, args.Reverse)
		return st.VariablesIndex(ws), nil
	})
}

// identity verifies a request's token: nil claims without one.
func (e *variablesEndpoint) identity(token string) (*structs.IdentityClaims, error) {
	if token == "" {
		return nil, nil
	}
	claims, err := e.srv.VerifyIdentity(token)
	if err != nil {
		return nil, permissionDenied(err.Error())
	}
	return claims, nil
}

// workloadMayRead is Nomad's built-in workload policy for variables: a
// task reads nomad/jobs and its own job's, group's and task's paths, in its
// own namespace, and nothing else.
func workloadMayRead(c *structs.IdentityClaims, ns, path string) bool {
	if ns != c.Namespace {
		return false
	}
	job := "nomad/jobs/" + c.JobID
	switch path {
	case "nomad/jobs", job, job + "/" + c.TaskGroup, job + "/" + c.TaskGroup + "/" + c.Task:
		return true
	}
	return false
}

// applyVariable applies a variable write; a failed check is an answer, not
// an error.
func (f *fsm) applyVariable(index uint64, body []byte) any {
	var req structs.VarApplyStateRequest
	if err := f.decode(body, &req); err != nil {
		return err
	}
	resp, err := f.state.ApplyVariable(index, &req)
	if err != nil {
		if errors.Is(err, structs.ErrBadRequest) {
			return f.refusal(structs.VarApplyStateRequestType, index, err)
		}
		return f.errResult(structs.VarApplyStateRequestType, index, err)
	}
	return resp
}
