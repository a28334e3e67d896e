package state

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/hashicorp/go-memdb"

	"github.com/roam-sh/roam/structs"
)

// ErrNotFound is returned by writes that refer to an object that does not
// exist. It is the shared sentinel, so that a write that lost a race (a
// purge after a purge, a stop after a purge) reaches its caller as a 404
// on every path, not as an internal error.
var ErrNotFound = structs.ErrNotFound

// StateStore is the cluster state. Writes come only from the Raft FSM.
type StateStore struct {
	db *memdb.MemDB

	// abandonCh is closed when the store is replaced by a snapshot restore, so
	// that blocking queries on the old store wake up and retry on the new one.
	abandonMu sync.Mutex
	abandonCh chan struct{}

	// events records the changes of the log entry being applied, between
	// the FSM's BeginEvents and EndEvents (events.go); nil otherwise. Only
	// the FSM's goroutine writes, so it needs no lock.
	events *pendingEvents
}

// NewStateStore returns an empty store.
func NewStateStore() (*StateStore, error) {
	db, err := memdb.NewMemDB(schema())
	if err != nil {
		return nil, fmt.Errorf("create state store: %w", err)
	}
	return &StateStore{db: db, abandonCh: make(chan struct{})}, nil
}

// Snapshot returns a read-only, point-in-time view of the store.
func (s *StateStore) Snapshot() *StateSnapshot {
	return &StateSnapshot{StateStore{db: s.db.Snapshot(), abandonCh: make(chan struct{})}}
}

// StateSnapshot is an immutable view; writes to it are never persisted.
type StateSnapshot struct {
	StateStore
}

// AbandonCh is closed when the store is abandoned after a restore.
func (s *StateStore) AbandonCh() <-chan struct{} {
	s.abandonMu.Lock()
	defer s.abandonMu.Unlock()
	return s.abandonCh
}

// Abandon wakes every blocking query on this store; the FSM calls it after
// swapping in a restored store.
func (s *StateStore) Abandon() {
	s.abandonMu.Lock()
	defer s.abandonMu.Unlock()
	select {
	case <-s.abandonCh:
	default:
		close(s.abandonCh)
	}
}

// Index returns the last index that changed the table.
func (s *StateStore) Index(table string) uint64 {
	raw, err := s.db.Txn(false).First(tableIndex, "id", table)
	if err != nil || raw == nil {
		return 0
	}
	return raw.(*IndexEntry).Value
}

// LatestIndex returns the highest index of any table.
func (s *StateStore) LatestIndex() (uint64, error) {
	it, err := s.db.Txn(false).Get(tableIndex, "id")
	if err != nil {
		return 0, fmt.Errorf("latest index: %w", err)
	}
	var max uint64
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if v := raw.(*IndexEntry).Value; v > max {
			max = v
		}
	}
	return max, nil
}

func setIndex(txn *memdb.Txn, index uint64, tables ...string) error {
	for _, t := range tables {
		if err := txn.Insert(tableIndex, &IndexEntry{Key: t, Value: index}); err != nil {
			return fmt.Errorf("update index of %s: %w", t, err)
		}
	}
	return nil
}

// indexIn returns the table index as seen by ws-watching readers.
func (s *StateStore) indexIn(ws memdb.WatchSet, txn *memdb.Txn, tables ...string) uint64 {
	var max uint64
	for _, t := range tables {
		ch, raw, err := txn.FirstWatch(tableIndex, "id", t)
		if err != nil {
			continue
		}
		ws.Add(ch)
		if raw != nil && raw.(*IndexEntry).Value > max {
			max = raw.(*IndexEntry).Value
		}
	}
	return max
}

// QueryFn runs a read against the store, adding what it read to ws, and returns
// the result and the index it reflects.
type QueryFn func(ws memdb.WatchSet, s *StateStore) (any, uint64, error)

// BlockingQuery runs fn until it returns an index greater than minIndex or ctx
// ends; then it returns the latest result. A minIndex of 0 returns at once.
func (s *StateStore) BlockingQuery(ctx context.Context, minIndex uint64, fn QueryFn) (any, uint64, error) {
	for {
		ws := memdb.NewWatchSet()
		ws.Add(s.AbandonCh())
		resp, index, err := fn(ws, s)
		if err != nil {
			return nil, index, err
		}
		// An index of 0 means the table was never written; report 1 so clients
		// that block on the returned index do not spin.
		if index == 0 {
			index = 1
		}
		if minIndex == 0 || index > minIndex {
			return resp, index, nil
		}
		if err := ws.WatchCtx(ctx); err != nil {
			return resp, index, nil
		}
	}
}

// listByIDPrefix returns every object of a UUID-keyed table, or those whose ID
// starts with prefix.
func listByIDPrefix[T any](txn *memdb.Txn, ws memdb.WatchSet, table, prefix string) ([]T, error) {
	if prefix == "" {
		out, err := collect[T](ws)(txn.Get(table, "id"))
		if err != nil {
			return nil, fmt.Errorf("%s lookup: %w", table, err)
		}
		return out, nil
	}
	raws, err := idPrefixIter(txn, ws, table, prefix)
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(raws))
	for _, r := range raws {
		out = append(out, r.(T))
	}
	return out, nil
}

// idPrefixIter looks up a UUID-indexed table by ID prefix. memdb needs an even
// number of hex digits, so odd prefixes search one digit shorter and filter.
func idPrefixIter(txn *memdb.Txn, ws memdb.WatchSet, table, prefix string) ([]any, error) {
	search := prefix
	if n := len(strings.ReplaceAll(search, "-", "")); n%2 == 1 {
		search = search[:len(search)-1]
	}
	it, err := txn.Get(table, "id_prefix", search)
	if err != nil {
		// Not hex: nothing can match.
		return nil, nil
	}
	if ws != nil {
		ws.Add(it.WatchCh())
	}
	var out []any
	for raw := it.Next(); raw != nil; raw = it.Next() {
		id := raw.(interface{ GetID() string }).GetID()
		if strings.HasPrefix(id, prefix) {
			out = append(out, raw)
		}
	}
	return out, nil
}

// collect drains an iterator, adding its watch channel to ws. It is curried so
// that a txn.Get call can be passed straight in: collect[T](ws)(txn.Get(...)).
func collect[T any](ws memdb.WatchSet) func(memdb.ResultIterator, error) ([]T, error) {
	return func(it memdb.ResultIterator, err error) ([]T, error) {
		if err != nil {
			return nil, err
		}
		if ws != nil {
			ws.Add(it.WatchCh())
		}
		var out []T
		for raw := it.Next(); raw != nil; raw = it.Next() {
			out = append(out, raw.(T))
		}
		return out, nil
	}
}

// write runs fn in a write transaction and commits it.
func (s *StateStore) write(fn func(txn *memdb.Txn) error) error {
	txn := s.db.Txn(true)
	defer txn.Abort()
	if s.events != nil {
		txn.TrackChanges()
	}
	if err := fn(txn); err != nil {
		return err
	}
	txn.Commit()
	if s.events != nil {
		s.events.changes = append(s.events.changes, txn.Changes()...)
	}
	return nil
}

// ensure GetID exists on the types looked up by prefix.
var (
	_ interface{ GetID() string } = (*structs.Allocation)(nil)
	_ interface{ GetID() string } = (*structs.Evaluation)(nil)
	_ interface{ GetID() string } = (*structs.Node)(nil)
)
