package structs

import "time"

// IntentionAction says what an intention does to a connection.
type IntentionAction string

const (
	IntentionActionAllow IntentionAction = "allow"
	IntentionActionDeny  IntentionAction = "deny"
)

func (a IntentionAction) String() string { return string(a) }

// ParseIntentionAction rejects anything but allow and deny.
func ParseIntentionAction(s string) (IntentionAction, error) {
	return parseEnum("intention action", s, []IntentionAction{IntentionActionAllow, IntentionActionDeny})
}

// IntentionWildcard matches any name or namespace. Partial globs (web-*)
// are refused, as in Consul.
const IntentionWildcard = "*"

// Intention allows or denies connections from a source service to a
// destination service (docs/mesh.md). Names and namespaces may be "*".
// Stored one per (source, destination) pair; Consul's service-intentions
// config entry is a view grouping them by destination.
type Intention struct {
	ID              string
	Description     string
	SourceNS        string
	SourceName      string
	DestinationNS   string
	DestinationName string
	SourceType      string // always "consul", for Consul's API shape
	Action          IntentionAction
	Meta            map[string]string
	Precedence      int // computed on write, 1..9
	CreatedAt       time.Time
	UpdatedAt       time.Time
	CreateIndex     uint64
	ModifyIndex     uint64
}

// IntentionRequest writes intentions in one Raft entry: the deletes
// (by ID) first, then the upserts, so replacing a destination's whole set
// (a service-intentions config entry) never leaves a moment with none. For
// upserts the leader stamps IDs, times and precedence, so applying reads no
// clock or random numbers.
type IntentionRequest struct {
	Upsert []*Intention
	Delete []string
	WriteRequest
}

// IntentionResponse answers a write with the IDs written.
type IntentionResponse struct {
	IDs []string
	WriteMeta
}

// IntentionListRequest lists every intention (blocking on MinQueryIndex).
type IntentionListRequest struct {
	QueryOptions
}

// IntentionListResponse holds intentions sorted by precedence, highest
// first, the order they are evaluated in.
type IntentionListResponse struct {
	Intentions []*Intention
	QueryMeta
}
