package allocrunner

import (
	"log/slog"
	"time"

	"github.com/roam-sh/roam/client/artifact"
	"github.com/roam-sh/roam/client/servicereg"
	"github.com/roam-sh/roam/client/taskrunner"
	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/template"
)

// Config builds an AllocRunner.
type Config struct {
	Alloc *structs.Allocation
	// AllocDirRoot is the client's alloc_dir; the allocation lives in
	// AllocDirRoot/<alloc ID>.
	AllocDirRoot string
	Drivers      DriverGetter
	Node         *structs.Node
	Region       string
	HostEnv      map[string]string
	EnvDenylist  []string
	// Artifacts is the client's artifact block, for every task's fetches.
	Artifacts artifact.Config
	// Templates is how tasks' templates render (taskrunner.Config).
	Templates *template.Sandbox
	// MaxKillTimeout caps every task's kill_timeout.
	MaxKillTimeout time.Duration
	StateDB        StateDB
	// StateUpdater receives the allocation's client-side state on every
	// change; the client batches these to the servers.
	StateUpdater StateUpdater
	// Services is the servers' service catalog, where the group's and the
	// tasks' services register (nil: services are not registered, for
	// tests of other parts).
	Services servicereg.Catalog
	// Networks sets up group networks (nil: only host mode works).
	Networks Networks
	// DNS, when set, answers DNS inside isolated groups' namespaces.
	DNS NamespaceDNS
	// Restored holds each task's persisted state when the client restarts.
	Restored map[string]RestoredTask
	Logger   *slog.Logger
}

// RestoredTask is one task's state read back from the state DB.
type RestoredTask struct {
	State *structs.TaskState
	Local *taskrunner.LocalState
}

// DriverGetter finds a task's driver (a *drivers.Registry).
type DriverGetter interface {
	Get(name string) (drivers.Driver, bool)
}

// StateDB persists allocations and their tasks.
type StateDB interface {
	taskrunner.StateDB
	PutAllocation(alloc *structs.Allocation) error
	DeleteAllocationBucket(allocID string) error
	PutNetworkStatus(allocID string, ns *structs.AllocNetworkStatus) error
	// PutAllocHookState saves an alloc hook's state (nil deletes it);
	// AllocHookStates reads them all back when a runner is built.
	PutAllocHookState(allocID, hook string, state []byte) error
	AllocHookStates(allocID string) (map[string][]byte, error)
}

// StateUpdater is told the allocation's client-side state changed. It must
// not block.
type StateUpdater interface {
	AllocStateUpdated(alloc *structs.Allocation)
}
