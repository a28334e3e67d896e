package server

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/roam-sh/roam/identity"
	"github.com/roam-sh/roam/structs"
)

// Workload identities (see docs/identity.md): the plan applier signs one JWT
// per task of every allocation it places, and VerifyIdentity is the one
// entry point every authorisation by workload identity goes through:
// service registration today; the mesh CA's certificate requests, variables
// and templates when they land.

// signAllocIdentities signs a default identity for every task of each
// placed allocation that lacks one. Allocations updated in place keep the
// tokens they have, so running tasks never see their identity change; an
// allocation missing any token gets a fresh set from the active key, so one
// allocation is signed by one key (SigningKeyID, which key collection reads).
// Signed allocations are replaced in allocs by shallow copies, so the
// scheduler's objects are never written; job is the plan's.
//
// Signing sits on the path of every placement (a 10,000-allocation plan
// signs 10,000 tokens before it commits), so the key is looked up once and
// the signatures are spread over the CPUs.
func (s *Server) signAllocIdentities(job *structs.Job, allocs []*structs.Allocation) error {
	var todo []int
	for i, a := range allocs {
		if tg := allocGroup(job, a); tg != nil && !hasAllIdentities(a, tg) {
			todo = append(todo, i)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	rk, key, err := s.keyring.signer()
	if err != nil {
		return fmt.Errorf("sign identities: %w", err)
	}
	now := time.Now().Unix()
	return parallel(todo, func(i int) error {
		c, err := signAlloc(job, allocs[i], rk.KeyID, key, s.cfg.OIDCIssuer, now)
		if err == nil {
			allocs[i] = c
		}
		return err
	})
}

// signAlloc returns a copy of a with a token for every task of its group.
func signAlloc(job *structs.Job, a *structs.Allocation, kid string, key *ecdsa.PrivateKey, issuer string, now int64) (*structs.Allocation, error) {
	j := a.Job
	if j == nil {
		j = job
	}
	tg := j.LookupTaskGroup(a.TaskGroup)
	signed := make(map[string]string, len(tg.Tasks))
	for _, t := range tg.Tasks {
		tok, err := identity.Sign(key, kid, taskClaims(j, a, tg.Name, t.Name, issuer, now))
		if err != nil {
			return nil, fmt.Errorf("sign identity of alloc %s task %s: %w", a.ID, t.Name, err)
		}
		signed[t.Name] = tok
	}
	c := *a
	c.SignedIdentities, c.SigningKeyID = signed, kid
	return &c, nil
}

// parallel runs fn for every item on GOMAXPROCS goroutines and returns the
// first error.
func parallel(items []int, fn func(int) error) error {
	workers := min(runtime.GOMAXPROCS(0), len(items))
	next := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var first error
			for i := range next {
				if err := fn(i); err != nil && first == nil {
					first = err
				}
			}
			errs <- first
		}()
	}
	for _, i := range items {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// allocGroup is the allocation's group in its job (or the plan's).
func allocGroup(job *structs.Job, a *structs.Allocation) *structs.TaskGroup {
	if a.Job != nil {
		job = a.Job
	}
	if job == nil {
		return nil
	}
	return job.LookupTaskGroup(a.TaskGroup)
}

func hasAllIdentities(a *structs.Allocation, tg *structs.TaskGroup) bool {
	for _, t := range tg.Tasks {
		if a.SignedIdentities[t.Name] == "" {
			return false
		}
	}
	return true
}

// taskClaims are the claims of a task's default identity, named as Nomad's.
func taskClaims(j *structs.Job, a *structs.Allocation, group, task, issuer string, now int64) *structs.IdentityClaims {
	return &structs.IdentityClaims{
		Namespace: a.Namespace, JobID: a.JobID, AllocationID: a.ID, Task: task,
		Subject:  structs.WorkloadIdentitySubject(j.Region, a.Namespace, a.JobID, group, task, structs.WorkloadIdentityDefaultName),
		Audience: structs.WorkloadIdentityAudience, ID: structs.GenerateUUID(),
		IssuedAt: now, NotBefore: now, Issuer: issuer,
	}
}

// ErrInvalidIdentity wraps every reason a workload identity is refused.
var ErrInvalidIdentity = errors.New("invalid workload identity")

// VerifyIdentity checks a workload identity and returns its claims: the
// signature verifies with the keyring key its header names (active or
// inactive), the token is in its validity window, and the allocation it
// names exists, has not finished on its client, and runs the task the token
// names. Any server answers from its own replicated state. TaskGroup in the
// result comes from the allocation.
//
// This is the one entry point for authorising a task: service registration
// and variables call it now; the mesh CA and templates will.
func (s *Server) VerifyIdentity(token string) (*structs.IdentityClaims, error) {
	claims, err := s.verifySignature(token)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidIdentity, err)
	}
	if err := s.checkClaimsAlloc(claims); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidIdentity, err)
	}
	return claims, nil
}

// verifySignature checks the token against the keyring and its times.
func (s *Server) verifySignature(token string) (*structs.IdentityClaims, error) {
	kid, err := identity.KeyID(token)
	if err != nil {
		return nil, err
	}
	pub, err := s.keyring.publicKey(kid)
	if err != nil {
		return nil, err
	}
	var claims structs.IdentityClaims
	if err := identity.Verify(token, pub, &claims); err != nil {
		return nil, err
	}
	now := time.Now().Unix()
	if claims.NotBefore > now+int64(identityClockSkew/time.Second) {
		return nil, errors.New("token not valid yet")
	}
	if claims.Expiry != 0 && claims.Expiry < now-int64(identityClockSkew/time.Second) {
		return nil, errors.New("token expired")
	}
	return &claims, nil
}

// identityClockSkew tolerates servers' clocks disagreeing on nbf and exp.
const identityClockSkew = time.Minute

// checkClaimsAlloc checks that the allocation the claims name still runs
// the task, and fills TaskGroup.
func (s *Server) checkClaimsAlloc(c *structs.IdentityClaims) error {
	a, err := s.state.AllocByID(nil, c.AllocationID)
	if err != nil {
		return err
	}
	switch {
	case a == nil:
		return fmt.Errorf("allocation %s not found", c.AllocationID)
	case a.ClientTerminalStatus():
		return fmt.Errorf("allocation %s is %s", c.AllocationID, a.ClientStatus)
	case a.Namespace != c.Namespace || a.JobID != c.JobID:
		return fmt.Errorf("allocation %s does not belong to job %q in namespace %q", a.ID, c.JobID, c.Namespace)
	}
	tg := a.LookupTaskGroup()
	if tg == nil || tg.LookupTask(c.Task) == nil {
		return fmt.Errorf("allocation %s has no task %q", a.ID, c.Task)
	}
	c.TaskGroup = tg.Name
	return nil
}
