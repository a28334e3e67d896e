package api

import (
	"context"
	"time"
)

// QueryOptions tune a read. Zero fields are not sent.
type QueryOptions struct {
	// WaitIndex makes the query block until the data's index exceeds it
	// (a blocking query); WaitTime bounds the wait (server default 5m, max 10m).
	WaitIndex uint64
	WaitTime  time.Duration
	// Prefix filters list results by ID prefix.
	Prefix string
	// Filter is a go-bexpr expression evaluated on each listed object.
	Filter string
	// Namespace ("*" = all on list endpoints) and Region override the
	// client's defaults for this call.
	Namespace string
	Region    string
	// AllowStale lets any server answer.
	AllowStale bool
	// Params are extra query parameters (endpoint-specific flags).
	Params map[string]string
	// Ctx cancels the request; nil means context.Background().
	Ctx context.Context
}

func (q *QueryOptions) context() context.Context {
	if q == nil || q.Ctx == nil {
		return context.Background()
	}
	return q.Ctx
}

// QueryMeta is what the agent says about a read's freshness.
type QueryMeta struct {
	// LastIndex is the index to pass as WaitIndex to wait for a change.
	LastIndex   uint64
	KnownLeader bool
	LastContact time.Duration
}

// WriteOptions tune a write.
type WriteOptions struct {
	Namespace string
	Region    string
	// IdempotencyToken (?idempotency_token=) makes a dispatch safe to retry.
	IdempotencyToken string
	// Ctx cancels the request; nil means context.Background().
	Ctx context.Context
}

func (w *WriteOptions) context() context.Context {
	if w == nil || w.Ctx == nil {
		return context.Background()
	}
	return w.Ctx
}

// WriteMeta is returned by writes.
type WriteMeta struct {
	// LastIndex is the Raft index the write committed at.
	LastIndex uint64
}
