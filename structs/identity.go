package structs

import (
	"strings"
	"time"
)

// Workload identity: the JWT the servers sign for every task they place
// (see docs/identity.md). The claim names are Nomad's, so tools written for
// Nomad's workload identities read roam's.

// WorkloadIdentityAudience is the audience ("aud") of the default identity.
const WorkloadIdentityAudience = "nomadproject.io"

// WorkloadIdentityDefaultName names the identity every task gets.
const WorkloadIdentityDefaultName = "default"

// WorkloadIdentityFile is the file in the task's secrets/ directory that
// holds the default identity when the task's identity block sets file.
const WorkloadIdentityFile = "nomad_token"

// IdentityClaims are the claims of a workload identity.
type IdentityClaims struct {
	Namespace    string `json:"nomad_namespace"`
	JobID        string `json:"nomad_job_id"`
	AllocationID string `json:"nomad_allocation_id"`
	Task         string `json:"nomad_task,omitempty"`

	// Subject is "<region>:<namespace>:<job>:<group>:<task>:<identity>".
	Subject   string `json:"sub"`
	Audience  string `json:"aud"`
	ID        string `json:"jti"`
	IssuedAt  int64  `json:"iat"`
	NotBefore int64  `json:"nbf"`
	Expiry    int64  `json:"exp,omitempty"`
	// Issuer is the server's oidc_issuer when one is configured.
	Issuer string `json:"iss,omitempty"`

	// TaskGroup is not a claim: the server's verification fills it from the
	// allocation the token names, so callers authorise by group without
	// parsing Subject (job IDs may contain ':').
	TaskGroup string `json:"-"`
}

// WorkloadIdentitySubject builds the "sub" claim of a task's identity.
func WorkloadIdentitySubject(region, namespace, jobID, group, task, identity string) string {
	return strings.Join([]string{region, namespace, jobID, group, task, identity}, ":")
}

// WorkloadIdentity is a task's identity block: how the task sees the token.
// Only the default identity is signed today; named identities (Name set to
// anything else) are kept on the job for a later change.
type WorkloadIdentity struct {
	Name     string
	Audience []string
	// Env exposes the token as NOMAD_TOKEN.
	Env bool
	// File writes the token to secrets/nomad_token (or Filepath).
	File     bool
	Filepath string
	// TTL 0 means the token lives as long as the allocation.
	TTL time.Duration
	// ChangeMode and ChangeSignal say what to do when the token is renewed
	// (renewal comes with TTLs; kept for compatibility).
	ChangeMode   string
	ChangeSignal string
}

// IsDefault reports whether this is the task's default identity.
func (w *WorkloadIdentity) IsDefault() bool {
	return w.Name == "" || w.Name == WorkloadIdentityDefaultName
}
