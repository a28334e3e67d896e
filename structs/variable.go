package structs

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Bounds of variables. Every server holds every variable in memory and in
// its Raft log, so one request must not be able to grow them without limit.
const (
	// MaxVariableSize bounds the items of one variable (keys and values),
	// Nomad's 64 KiB.
	MaxVariableSize = 64 << 10
	// MaxVariableItems bounds how many items one variable holds.
	MaxVariableItems = 1024
	// MaxVariablesPerNamespace bounds how many variables one namespace
	// holds, so a loop of writes cannot fill the servers' memory.
	MaxVariablesPerNamespace = 10000
)

// Lock bounds and defaults, Nomad's.
const (
	MinVariableLockTTL      = 10 * time.Second
	MaxVariableLockTTL      = 24 * time.Hour
	DefaultVariableLockTTL  = 15 * time.Second
	DefaultVariableLockWait = 15 * time.Second
	MaxVariableLockDelay    = time.Hour
)

// validVariablePath is Nomad's path rule: URL-safe characters that do not
// clash with template syntax ("@", "."), at most 128 of them.
var validVariablePath = regexp.MustCompile(`^[a-zA-Z0-9-_~/]{1,128}$`)

// VariableItems are a variable's key/value pairs.
type VariableItems map[string]string

// Size is the bytes of the items' keys and values.
func (vi VariableItems) Size() int {
	n := 0
	for k, v := range vi {
		n += len(k) + len(v)
	}
	return n
}

// VariableLock marks a variable used as a lock. ID is chosen by the leader
// on acquisition; whoever holds it renews before TTL runs out. After a lock
// expires unrenewed, nobody may take it for LockDelay.
type VariableLock struct {
	ID        string
	TTL       time.Duration
	LockDelay time.Duration
}

// variableLockJSON is the wire form: durations as strings ("15s"), as
// Nomad's API sends and reads them.
type variableLockJSON struct {
	ID        string
	TTL       string
	LockDelay string
}

// MarshalJSON writes the durations as strings.
func (l *VariableLock) MarshalJSON() ([]byte, error) {
	out := variableLockJSON{ID: l.ID}
	if l.TTL != 0 {
		out.TTL = l.TTL.String()
	}
	if l.LockDelay != 0 {
		out.LockDelay = l.LockDelay.String()
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads durations written as strings or as nanoseconds.
func (l *VariableLock) UnmarshalJSON(b []byte) error {
	var raw struct {
		ID        string
		TTL       any
		LockDelay any
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	l.ID = raw.ID
	var err error
	if l.TTL, err = jsonDuration("TTL", raw.TTL); err != nil {
		return err
	}
	l.LockDelay, err = jsonDuration("LockDelay", raw.LockDelay)
	return err
}

func jsonDuration(field string, v any) (time.Duration, error) {
	switch v := v.(type) {
	case nil:
		return 0, nil
	case float64:
		return time.Duration(v), nil
	case string:
		if v == "" {
			return 0, nil
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			return 0, fmt.Errorf("lock %s %q: %w", field, v, err)
		}
		return d, nil
	}
	return 0, fmt.Errorf("lock %s: want a duration string", field)
}

// Validate checks a lock's TTL and delay after defaults were applied.
func (l *VariableLock) Validate() error {
	switch {
	case l.TTL < MinVariableLockTTL || l.TTL > MaxVariableLockTTL:
		return fmt.Errorf("lock TTL %s: must be between %s and %s", l.TTL, MinVariableLockTTL, MaxVariableLockTTL)
	case l.LockDelay < 0 || l.LockDelay > MaxVariableLockDelay:
		return fmt.Errorf("lock delay %s: must be between 0 and %s", l.LockDelay, MaxVariableLockDelay)
	}
	return nil
}

// Canonicalize fills the default TTL and delay.
func (l *VariableLock) Canonicalize() {
	if l.TTL == 0 {
		l.TTL = DefaultVariableLockTTL
	}
	if l.LockDelay == 0 {
		l.LockDelay = DefaultVariableLockWait
	}
}

// VariableMetadata is what lists show of a variable: never its items.
type VariableMetadata struct {
	Namespace   string
	Path        string
	CreateIndex uint64
	ModifyIndex uint64
	CreateTime  int64 // Unix nanoseconds, stamped by the leader
	ModifyTime  int64
	Lock        *VariableLock `json:",omitempty"`
}

// VariableDecrypted is a variable as the API reads and writes it.
type VariableDecrypted struct {
	VariableMetadata
	Items VariableItems
}

// VariableEncrypted is a variable as the servers store it: the items are
// sealed with AES-256-GCM under a data key of the keyring (KeyID), bound to
// the variable's namespace and path, so a ciphertext moved to another path
// does not open (docs/variables.md).
type VariableEncrypted struct {
	VariableMetadata
	KeyID      string
	Nonce      []byte
	Ciphertext []byte
	// LockExpires is when the lock lapses unless renewed (Unix nanoseconds,
	// stamped by the leader); 0 without a lock.
	LockExpires int64
}

// Stub returns the variable's metadata with the lock ID left out: only the
// holder knows it.
func (v *VariableEncrypted) Stub() *VariableMetadata {
	m := v.VariableMetadata
	if m.Lock != nil {
		l := *m.Lock
		l.ID = ""
		m.Lock = &l
	}
	return &m
}

// ValidateVariablePath checks a path: Nomad's characters and length, and
// under the reserved "nomad/" only nomad/jobs (and below) and
// nomad/job-templates/<name>.
func ValidateVariablePath(path string) error {
	if !validVariablePath.MatchString(path) {
		return fmt.Errorf("invalid variable path %q: 1 to 128 letters, digits and - _ ~ /", path)
	}
	parts := strings.Split(path, "/")
	if parts[0] != "nomad" {
		return nil
	}
	switch {
	case len(parts) == 1:
		return fmt.Errorf(`variable path "nomad" is reserved; write under "nomad/jobs" instead`)
	case parts[1] == "jobs":
		return nil
	case parts[1] == "job-templates" && len(parts) == 3:
		return nil
	}
	return fmt.Errorf(`variable path %q: under "nomad/" only "nomad/jobs" and below and "nomad/job-templates/<name>" may be written`, path)
}

// Validate checks a variable to write: path, item count and size.
func (v *VariableDecrypted) Validate(forLock bool) error {
	if v.Namespace == AllNamespaces {
		return fmt.Errorf("a variable cannot be written to the wildcard namespace %q", AllNamespaces)
	}
	if err := ValidateVariablePath(v.Path); err != nil {
		return err
	}
	if len(v.Items) == 0 && !forLock {
		return fmt.Errorf("variable %q has no items", v.Path)
	}
	if len(v.Items) > MaxVariableItems {
		return fmt.Errorf("variable %q has %d items; at most %d", v.Path, len(v.Items), MaxVariableItems)
	}
	if n := v.Items.Size(); n > MaxVariableSize {
		return fmt.Errorf("variable %q is %d bytes; at most %d (64 KiB)", v.Path, n, MaxVariableSize)
	}
	for k := range v.Items {
		if k == "" {
			return fmt.Errorf("variable %q has an item with an empty key", v.Path)
		}
	}
	return nil
}

// VarOp is what a variable write does.
type VarOp string

// The operations of Variables.Apply (and of the Raft entry).
const (
	VarOpSet         VarOp = "set"
	VarOpCAS         VarOp = "cas"
	VarOpDelete      VarOp = "delete"
	VarOpDeleteCAS   VarOp = "delete-cas"
	VarOpLockAcquire VarOp = "lock-acquire"
	VarOpLockRelease VarOp = "lock-release"
	VarOpLockRenew   VarOp = "lock-renew"
)

var varOps = []VarOp{VarOpSet, VarOpCAS, VarOpDelete, VarOpDeleteCAS, VarOpLockAcquire, VarOpLockRelease, VarOpLockRenew}

func (o VarOp) String() string { return string(o) }

// ParseVarOp rejects unknown operations.
func ParseVarOp(s string) (VarOp, error) { return parseEnum("variable operation", s, varOps) }

// VariablesApplyRequest writes one variable. For the CAS operations
// Var.ModifyIndex is the index the caller expects (0: must not exist).
type VariablesApplyRequest struct {
	Op  VarOp
	Var *VariableDecrypted
	WriteRequest
}

// VariablesApplyResponse returns the written variable (nil after a delete)
// or, when a check-and-set or lock failed, the variable as it is
// (Conflict, items included only when the caller may read them).
type VariablesApplyResponse struct {
	Output   *VariableDecrypted
	Conflict *VariableDecrypted
	WriteMeta
}

// VarApplyStateRequest is the Raft entry of a variable write: the variable
// already sealed by the leader. The store applies it only when the stored
// variable's ModifyIndex is still CheckIndex (when Check is set), so a
// write decided on a read the log has since overtaken does not land.
type VarApplyStateRequest struct {
	Op         VarOp
	Var        *VariableEncrypted
	Check      bool
	CheckIndex uint64
	WriteRequest
}

// VarApplyStateResponse is the FSM's answer to a variable write: Conflict
// holds the stored variable when the check failed.
type VarApplyStateResponse struct {
	Conflict *VariableEncrypted
}

// VariablesReadRequest reads one variable.
type VariablesReadRequest struct {
	Path string
	QueryOptions
}

// VariablesReadResponse returns the decrypted variable, nil when absent.
type VariablesReadResponse struct {
	Data *VariableDecrypted
	QueryMeta
}

// VariablesListRequest lists variables' metadata (Prefix on the path).
type VariablesListRequest struct {
	QueryOptions
}

// VariablesListResponse lists metadata, by namespace then path.
type VariablesListResponse struct {
	Data []*VariableMetadata
	QueryMeta
}
