package scheduler

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/roam-sh/roam/structs"
)

// Errors returned by the constructors and Process.
var (
	// ErrUnknownScheduler is returned by NewScheduler for a name it does not know.
	ErrUnknownScheduler = errors.New("unknown scheduler")
	// ErrMaxPlanAttempts is the failed evaluation's status description cause when
	// the plan applier kept rejecting the plan.
	ErrMaxPlanAttempts = errors.New("maximum plan attempts reached")
)

// Plan attempt budgets. A partially committed plan is retried against the
// refreshed state; a retry that committed something resets the budget. Service
// and system jobs get more tries than batch jobs, whose evaluations are cheaper
// to redo later (the same trade-off Nomad makes: 5 and 2).
const (
	maxServiceAttempts  = 5
	maxBatchAttempts    = 2
	maxSystemAttempts   = 5
	maxSysBatchAttempts = 2
)

// Config is what the schedulers take from their environment. The zero value
// uses the wall clock.
type Config struct {
	// Now is the scheduler's only clock: reschedule delays and follow-up
	// evaluation times are computed from it. Nil means time.Now.
	Now func() time.Time
	// MaxPlacementsPerEval bounds the new allocations one evaluation of a
	// service or batch job places; the rest are placed by a follow-up
	// evaluation, and so on. It keeps one plan (and the memory and raft
	// entry behind it) bounded whatever a group's count. 0 means
	// DefaultMaxPlacementsPerEval.
	MaxPlacementsPerEval int
}

// DefaultMaxPlacementsPerEval is far above what one real evaluation places
// and far below a plan that would strain the plan applier or raft.
const DefaultMaxPlacementsPerEval = 5000

func (c Config) maxPlacements() int {
	if c.MaxPlacementsPerEval <= 0 {
		return DefaultMaxPlacementsPerEval
	}
	return c.MaxPlacementsPerEval
}

func (c Config) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

// BuiltinSchedulers maps an evaluation type to the factory that handles it.
// It is a fixed table; callers must not modify it.
var BuiltinSchedulers = map[string]Factory{
	string(structs.JobTypeService):  NewServiceScheduler,
	string(structs.JobTypeBatch):    NewBatchScheduler,
	string(structs.JobTypeSystem):   NewSystemScheduler,
	string(structs.JobTypeSysbatch): NewSysBatchScheduler,
}

// Factories returns the builtin factories bound to cfg (tests inject a clock
// this way).
func Factories(cfg Config) map[string]Factory {
	return map[string]Factory{
		string(structs.JobTypeService): func(l *slog.Logger, s State, p Planner) Scheduler {
			return newGenericScheduler(cfg, l, s, p, false)
		},
		string(structs.JobTypeBatch): func(l *slog.Logger, s State, p Planner) Scheduler {
			return newGenericScheduler(cfg, l, s, p, true)
		},
		string(structs.JobTypeSystem): func(l *slog.Logger, s State, p Planner) Scheduler {
			return newSystemScheduler(cfg, l, s, p, false)
		},
		string(structs.JobTypeSysbatch): func(l *slog.Logger, s State, p Planner) Scheduler {
			return newSystemScheduler(cfg, l, s, p, true)
		},
	}
}

// NewScheduler builds the scheduler registered under name.
func NewScheduler(name string, logger *slog.Logger, state State, planner Planner) (Scheduler, error) {
	f, ok := BuiltinSchedulers[name]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownScheduler, name)
	}
	return f(logger, state, planner), nil
}

// NewServiceScheduler places service jobs: long-running, rescheduled on failure.
func NewServiceScheduler(logger *slog.Logger, state State, planner Planner) Scheduler {
	return newGenericScheduler(Config{}, logger, state, planner, false)
}

// NewBatchScheduler places batch jobs: run to completion, never re-run once
// successful.
func NewBatchScheduler(logger *slog.Logger, state State, planner Planner) Scheduler {
	return newGenericScheduler(Config{}, logger, state, planner, true)
}

// NewSystemScheduler places one allocation per eligible node.
func NewSystemScheduler(logger *slog.Logger, state State, planner Planner) Scheduler {
	return newSystemScheduler(Config{}, logger, state, planner, false)
}

// NewSysBatchScheduler places one run-to-completion allocation per eligible node.
func NewSysBatchScheduler(logger *slog.Logger, state State, planner Planner) Scheduler {
	return newSystemScheduler(Config{}, logger, state, planner, true)
}

func componentLogger(l *slog.Logger, kind string) *slog.Logger {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return l.With("component", "scheduler", "scheduler", kind)
}
