package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/raft"

	"github.com/roam-sh/roam/internal/wire"
	"github.com/roam-sh/roam/state"
	"github.com/roam-sh/roam/structs"
)

// fsmObserver is told about committed changes that the leader's in-memory
// components (eval broker, blocked evals) act on. The leader registers one on
// establishing leadership and removes it when it steps down; the FSM calls it
// synchronously from the Raft apply goroutine, so it must not block.
type fsmObserver interface {
	// EvalsUpserted sees every evaluation written, in any status.
	EvalsUpserted(index uint64, evals []*structs.Evaluation)
	// CapacityChanged says a node may have room for more work: it registered,
	// became ready or eligible, or an allocation on it became terminal.
	CapacityChanged(index uint64, nodeID string)
}

// fsm applies Raft log entries to the state store. An entry is one byte of
// structs.MessageType followed by the MessagePack request. Applying is
// deterministic: no clock, randomness or ID generation (see the package doc).
type fsm struct {
	state    *state.StateStore
	logger   *slog.Logger
	handle   wireHandle
	observer atomic.Pointer[fsmObserverBox]
	applied  appliedIndex
	handlers map[structs.MessageType]applyFunc
	// events receives the events of each applied entry (events.go); nil
	// keeps none.
	events *eventBuffer
	// corrupt is told about a committed entry that cannot be decoded or
	// that panicked: the log is damaged (or written by an incompatible
	// version) and the server must stop rather than run on without it.
	corrupt func(error)
}

// errUndecodable marks a log entry whose body does not decode.
var errUndecodable = errors.New("undecodable log entry")

// fsmObserverBox lets an interface value live in an atomic.Pointer.
type fsmObserverBox struct{ o fsmObserver }

// applyFunc applies one decoded entry; its result becomes the Raft future's
// Response (an error, or nil).
type applyFunc func(index uint64, body []byte) any

func newFSM(st *state.StateStore, logger *slog.Logger) *fsm {
	f := &fsm{state: st, logger: logger.With("component", "fsm"), handle: newWireHandle(), corrupt: func(error) {}}
	f.applied.init()
	f.handlers = f.handlerTable()
	return f
}

// setObserver registers (or with nil removes) the leader's observer.
func (f *fsm) setObserver(o fsmObserver) {
	if o == nil {
		f.observer.Store(nil)
		return
	}
	f.observer.Store(&fsmObserverBox{o: o})
}

func (f *fsm) obs() fsmObserver {
	if b := f.observer.Load(); b != nil {
		return b.o
	}
	return nil
}

// Apply implements raft.FSM. It runs on raft's goroutine, where a panic
// would kill the agent: a panic or an undecodable entry is reported to
// corrupt and returned as the entry's error instead.
func (f *fsm) Apply(l *raft.Log) (result any) {
	defer f.applied.set(l.Index)
	defer func() {
		if r := recover(); r != nil {
			result = f.reportCorrupt(l, fmt.Errorf("panic: %v", r))
		}
	}()
	res := f.apply(l)
	if err, ok := res.(error); ok && errors.Is(err, errUndecodable) {
		return f.reportCorrupt(l, err)
	}
	return res
}

// reportCorrupt logs and reports an entry that cannot be applied.
func (f *fsm) reportCorrupt(l *raft.Log, cause error) error {
	err := fmt.Errorf("raft log entry %d (type %d) cannot be applied: %w", l.Index, logEntryType(l), cause)
	f.logger.Error("corrupt raft log entry", "index", l.Index, "error", err)
	f.corrupt(err)
	return err
}

func logEntryType(l *raft.Log) int {
	if len(l.Data) == 0 {
		return -1
	}
	return int(l.Data[0])
}

func (f *fsm) apply(l *raft.Log) any {
	if l.Type != raft.LogCommand || len(l.Data) == 0 {
		return nil
	}
	t := structs.MessageType(l.Data[0])
	h, ok := f.handlers[t&^structs.IgnoreUnknownTypeFlag]
	if !ok {
		if t&structs.IgnoreUnknownTypeFlag != 0 {
			f.logger.Warn("skipping unknown log entry type", "type", uint8(t), "index", l.Index)
			return nil
		}
		err := fmt.Errorf("unknown log entry type %d at index %d", uint8(t), l.Index)
		f.logger.Error("cannot apply log entry", "error", err)
		return err
	}
	if f.events == nil {
		return h(l.Index, l.Data[1:])
	}
	f.state.BeginEvents(l.Index, t&^structs.IgnoreUnknownTypeFlag)
	res := h(l.Index, l.Data[1:])
	// Whatever the entry committed is published, even when it then
	// failed: subscribers see the state as it is.
	f.events.publish(f.state.EndEvents())
	return res
}

// Snapshot implements raft.FSM. The state snapshot is O(1); Persist runs
// concurrently with further applies.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	return &fsmSnapshot{snap: f.state.Snapshot()}, nil
}

// Restore implements raft.FSM: the store's contents are replaced by the
// snapshot, and blocking queries on the old contents wake up.
func (f *fsm) Restore(rc io.ReadCloser) (err error) {
	defer rc.Close()
	// Restore runs on raft's goroutine: a snapshot that makes the decoder
	// panic must fail the restore, not kill the agent.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("restore state snapshot: panic: %v", r)
		}
	}()
	if err := f.state.Restore(rc); err != nil {
		return fmt.Errorf("restore state snapshot: %w", err)
	}
	idx, err := f.state.LatestIndex()
	if err != nil {
		return err
	}
	f.applied.set(idx)
	return nil
}

type fsmSnapshot struct{ snap *state.StateSnapshot }

func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if err := s.snap.Persist(sink); err != nil {
		sink.Cancel()
		return fmt.Errorf("persist state snapshot: %w", err)
	}
	return sink.Close()
}

func (s *fsmSnapshot) Release() {}

// appliedIndex is the last Raft index the FSM applied, with a way to wait for
// it to reach a value (workers need a snapshot at least as new as their eval).
type appliedIndex struct {
	mu    sync.Mutex
	index uint64
	ch    chan struct{} // closed and replaced on every advance
}

func (a *appliedIndex) init() { a.ch = make(chan struct{}) }

func (a *appliedIndex) set(idx uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if idx <= a.index {
		return
	}
	a.index = idx
	close(a.ch)
	a.ch = make(chan struct{})
}

func (a *appliedIndex) get() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.index
}

// wait blocks until the applied index is at least idx.
func (a *appliedIndex) wait(ctx context.Context, idx uint64) error {
	for {
		a.mu.Lock()
		cur, ch := a.index, a.ch
		a.mu.Unlock()
		if cur >= idx {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("wait for raft index %d (at %d): %w", idx, cur, ctx.Err())
		}
	}
}

// decode decodes an entry body into v.
func (f *fsm) decode(body []byte, v any) error {
	if err := wire.Decode(f.handle, body, v); err != nil {
		return fmt.Errorf("%w: %w", errUndecodable, err)
	}
	return nil
}

// errResult logs an apply failure and returns it as the entry's result.
// Failures are deterministic (every server fails the same way), so they are
// reported to the writer rather than crashing the server.
func (f *fsm) errResult(t structs.MessageType, index uint64, err error) any {
	if err == nil {
		return nil
	}
	if !errors.Is(err, state.ErrNotFound) {
		f.logger.Error("apply log entry", "type", t, "index", index, "error", err)
	}
	return fmt.Errorf("apply %s: %w", t, err)
}
