package server

import (
	"log/slog"
	"testing"

	"github.com/roam-sh/roam/structs"
)

func testBlocked() (*BlockedEvals, *EvalBroker) {
	broker := testBroker(BrokerConfig{})
	b := NewBlockedEvals(broker, slog.New(slog.DiscardHandler))
	b.SetEnabled(true)
	return b, broker
}

func blockedEval(job string, index uint64, elig map[string]bool) *structs.Evaluation {
	e := brokerEval(job, 50, index)
	e.Status = structs.EvalStatusBlocked
	e.ClassEligibility = elig
	e.SnapshotIndex = index
	return e
}

func TestBlockedUnblocksByClassEligibility(t *testing.T) {
	b, broker := testBlocked()
	captured := blockedEval("a", 10, map[string]bool{"c1": true, "c2": false})
	escaped := blockedEval("b", 11, map[string]bool{"c2": false})
	escaped.EscapedComputedClass = true
	b.Block(captured)
	b.Block(escaped)
	if st := b.Stats(); st.TotalBlocked != 2 || st.TotalEscaped != 1 {
		t.Fatalf("stats: %+v", st)
	}

	// c2 is ineligible for the captured eval; the escaped one always unblocks.
	b.Unblock("c2", 20)
	if st := b.Stats(); st.TotalBlocked != 1 || broker.Stats().TotalReady != 1 {
		t.Fatalf("after unblocking c2: blocked %+v broker %+v", st, broker.Stats())
	}
	// A class the eval never saw may be feasible.
	b.Unblock("c3", 21)
	if st := b.Stats(); st.TotalBlocked != 0 || broker.Stats().TotalReady != 2 {
		t.Fatalf("after unblocking c3: blocked %+v broker %+v", st, broker.Stats())
	}
}

func TestBlockedKeepsNewestPerJob(t *testing.T) {
	b, _ := testBlocked()
	older, newer := blockedEval("a", 5, nil), blockedEval("a", 9, nil)
	b.Block(newer)
	b.Block(older)
	if dups := b.Duplicates(); len(dups) != 1 || dups[0].ID != older.ID {
		t.Fatalf("duplicates: %+v", dups)
	}
	if id, ok := b.Blocked(older.NamespacedJobID()); !ok || id != newer.ID {
		t.Fatalf("tracked %s, want the newer eval", id)
	}
	newest := blockedEval("a", 12, nil)
	b.Block(newest)
	if dups := b.Duplicates(); len(dups) != 1 || dups[0].ID != newer.ID {
		t.Fatalf("duplicates after a newer block: %+v", dups)
	}
	b.Untrack(newest.NamespacedJobID())
	if st := b.Stats(); st.TotalBlocked != 0 {
		t.Fatalf("untracked job still blocked: %+v", st)
	}
	if dups := b.Duplicates(); len(dups) != 1 || dups[0].ID != newest.ID {
		t.Fatalf("untracked eval must be cancelled: %+v", dups)
	}
}

func TestBlockedCatchesMissedUnblock(t *testing.T) {
	b, broker := testBlocked()
	b.Unblock("c1", 100)
	// Scheduled on a snapshot from before the capacity change.
	stale := blockedEval("a", 50, map[string]bool{"c1": true})
	b.Block(stale)
	if broker.Stats().TotalReady != 1 || b.Stats().TotalBlocked != 0 {
		t.Fatal("eval blocked on a stale snapshot was not re-enqueued")
	}
	// Scheduled after it: waits.
	fresh := blockedEval("b", 150, map[string]bool{"c1": true})
	b.Block(fresh)
	if b.Stats().TotalBlocked != 1 {
		t.Fatal("eval blocked on a fresh snapshot was released")
	}
}
