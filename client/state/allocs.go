package state

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/roam-sh/roam/client/taskrunner"
	"github.com/roam-sh/roam/structs"
)

var (
	allocKey         = []byte("alloc")
	networkStatusKey = []byte("network_status")
	taskStateKey     = []byte("state")
	taskLocalKey     = []byte("local")
	// allocHooksBucket, inside an allocation's bucket, holds each alloc
	// hook's saved state by hook name; task hooks' states live in the
	// task's local state. Both go with the allocation's bucket.
	allocHooksBucket = []byte("hooks")
)

const taskBucketPrefix = "task-"

// PutAllocation stores an allocation (with its job), creating its bucket.
func (db *DB) PutAllocation(a *structs.Allocation) error {
	b, err := db.encode(a)
	if err != nil {
		return err
	}
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		ab, err := tx.Bucket(allocsBucket).CreateBucketIfNotExists([]byte(a.ID))
		if err != nil {
			return err
		}
		return ab.Put(allocKey, b)
	})
	if err != nil {
		return fmt.Errorf("put alloc %s: %w", a.ID, err)
	}
	return nil
}

// Allocations returns every stored allocation. Allocations that cannot be
// decoded are reported in bad (by ID) rather than failing the whole read, so
// one corrupt entry does not keep the client from restoring the rest.
func (db *DB) Allocations() (allocs []*structs.Allocation, bad map[string]error, err error) {
	bad = map[string]error{}
	err = db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(allocsBucket).ForEachBucket(func(id []byte) error {
			raw := tx.Bucket(allocsBucket).Bucket(id).Get(allocKey)
			if raw == nil {
				bad[string(id)] = fmt.Errorf("alloc %s: no allocation stored", id)
				return nil
			}
			var a structs.Allocation
			if err := db.decode(raw, &a); err != nil {
				bad[string(id)] = fmt.Errorf("alloc %s: %w", id, err)
				return nil
			}
			allocs = append(allocs, &a)
			return nil
		})
	})
	return allocs, bad, err
}

// PutTaskState stores a task's state; dropped if the allocation is gone.
func (db *DB) PutTaskState(allocID, task string, st *structs.TaskState) error {
	return db.putTaskValue(allocID, task, taskStateKey, st)
}

// PutTaskRunnerLocalState stores a task runner's private state (its handle).
func (db *DB) PutTaskRunnerLocalState(allocID, task string, ls *taskrunner.LocalState) error {
	return db.putTaskValue(allocID, task, taskLocalKey, ls)
}

func (db *DB) putTaskValue(allocID, task string, key []byte, v any) error {
	b, err := db.encode(v)
	if err != nil {
		return err
	}
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		ab := tx.Bucket(allocsBucket).Bucket([]byte(allocID))
		if ab == nil {
			return nil
		}
		tb, err := ab.CreateBucketIfNotExists([]byte(taskBucketPrefix + task))
		if err != nil {
			return err
		}
		return tb.Put(key, b)
	})
	if err != nil {
		return fmt.Errorf("alloc %s: task %s: put %s: %w", allocID, task, key, err)
	}
	return nil
}

// TaskRunnerState returns a task's persisted state and local state; either is
// nil if never stored.
func (db *DB) TaskRunnerState(allocID, task string) (*taskrunner.LocalState, *structs.TaskState, error) {
	var ls *taskrunner.LocalState
	var st *structs.TaskState
	err := db.bolt.View(func(tx *bolt.Tx) error {
		ab := tx.Bucket(allocsBucket).Bucket([]byte(allocID))
		if ab == nil {
			return nil
		}
		tb := ab.Bucket([]byte(taskBucketPrefix + task))
		if tb == nil {
			return nil
		}
		if raw := tb.Get(taskLocalKey); raw != nil {
			ls = new(taskrunner.LocalState)
			if err := db.decode(raw, ls); err != nil {
				return err
			}
		}
		if raw := tb.Get(taskStateKey); raw != nil {
			st = new(structs.TaskState)
			if err := db.decode(raw, st); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("alloc %s: task %s: %w", allocID, task, err)
	}
	return ls, st, nil
}

// TaskNames lists the tasks with stored state in an allocation.
func (db *DB) TaskNames(allocID string) ([]string, error) {
	var out []string
	err := db.bolt.View(func(tx *bolt.Tx) error {
		ab := tx.Bucket(allocsBucket).Bucket([]byte(allocID))
		if ab == nil {
			return nil
		}
		return ab.ForEachBucket(func(k []byte) error {
			if name, ok := strings.CutPrefix(string(k), taskBucketPrefix); ok {
				out = append(out, name)
			}
			return nil
		})
	})
	return out, err
}

// PutNetworkStatus stores an allocation's network namespace status.
func (db *DB) PutNetworkStatus(allocID string, ns *structs.AllocNetworkStatus) error {
	b, err := db.encode(ns)
	if err != nil {
		return err
	}
	return db.bolt.Update(func(tx *bolt.Tx) error {
		ab := tx.Bucket(allocsBucket).Bucket([]byte(allocID))
		if ab == nil {
			return nil
		}
		return ab.Put(networkStatusKey, b)
	})
}

// NetworkStatus returns an allocation's stored network status, or nil.
func (db *DB) NetworkStatus(allocID string) (*structs.AllocNetworkStatus, error) {
	var ns *structs.AllocNetworkStatus
	err := db.bolt.View(func(tx *bolt.Tx) error {
		ab := tx.Bucket(allocsBucket).Bucket([]byte(allocID))
		if ab == nil {
			return nil
		}
		if raw := ab.Get(networkStatusKey); raw != nil {
			ns = new(structs.AllocNetworkStatus)
			return db.decode(raw, ns)
		}
		return nil
	})
	return ns, err
}

// DeleteAllocationBucket removes everything stored for an allocation.
func (db *DB) DeleteAllocationBucket(allocID string) error {
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		err := tx.Bucket(allocsBucket).DeleteBucket([]byte(allocID))
		if err == bolt.ErrBucketNotFound {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("delete alloc %s: %w", allocID, err)
	}
	return nil
}

// PutAllocHookState stores an allocation hook's saved state (nil deletes
// it). Unlike task state it is not dropped silently when the allocation is
// not stored: the hook relies on finding it after a restart.
func (db *DB) PutAllocHookState(allocID, hook string, b []byte) error {
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		ab := tx.Bucket(allocsBucket).Bucket([]byte(allocID))
		if ab == nil {
			return errors.New("allocation not stored")
		}
		hb, err := ab.CreateBucketIfNotExists(allocHooksBucket)
		if err != nil {
			return err
		}
		if b == nil {
			return hb.Delete([]byte(hook))
		}
		return hb.Put([]byte(hook), b)
	})
	if err != nil {
		return fmt.Errorf("alloc %s: put state of hook %s: %w", allocID, hook, err)
	}
	return nil
}

// AllocHookStates returns every allocation hook's saved state, by hook name
// (empty when none was saved).
func (db *DB) AllocHookStates(allocID string) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := db.bolt.View(func(tx *bolt.Tx) error {
		ab := tx.Bucket(allocsBucket).Bucket([]byte(allocID))
		if ab == nil {
			return nil
		}
		hb := ab.Bucket(allocHooksBucket)
		if hb == nil {
			return nil
		}
		return hb.ForEach(func(k, v []byte) error {
			out[string(k)] = bytes.Clone(v)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("alloc %s: hook states: %w", allocID, err)
	}
	return out, nil
}
