package server

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/roam-sh/roam/structs"
)

func testBroker(cfg BrokerConfig) *EvalBroker {
	if cfg.NackTimeout == 0 {
		cfg.NackTimeout = time.Minute
	}
	if cfg.DeliveryLimit == 0 {
		cfg.DeliveryLimit = 3
	}
	b := NewEvalBroker(cfg, slog.New(slog.DiscardHandler))
	b.SetEnabled(true)
	return b
}

func brokerEval(job string, prio int, index uint64) *structs.Evaluation {
	return &structs.Evaluation{
		ID: structs.GenerateUUID(), Namespace: "default", JobID: job, Type: structs.JobTypeService,
		Priority: prio, Status: structs.EvalStatusPending, CreateIndex: index, ModifyIndex: index,
	}
}

var services = []string{"service"}

func dequeue(t *testing.T, b *EvalBroker, timeout time.Duration) (*structs.Evaluation, string) {
	t.Helper()
	e, token, err := b.Dequeue(context.Background(), services, timeout)
	if err != nil {
		t.Fatalf("dequeue: %v", err)
	}
	return e, token
}

func expectEmpty(t *testing.T, b *EvalBroker, schedulers []string, timeout time.Duration) {
	t.Helper()
	if e, _, err := b.Dequeue(context.Background(), schedulers, timeout); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want nothing ready within %v, got %+v (%v)", timeout, e, err)
	}
}

func TestBrokerPriorityThenFIFO(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := testBroker(BrokerConfig{})
		low1, high, low2 := brokerEval("a", 50, 1), brokerEval("b", 80, 2), brokerEval("c", 50, 3)
		for _, e := range []*structs.Evaluation{low1, high, low2} {
			b.Enqueue(e)
		}
		b.Enqueue(low1) // duplicates are ignored
		for _, want := range []*structs.Evaluation{high, low1, low2} {
			got, token := dequeue(t, b, time.Second)
			if got.ID != want.ID {
				t.Fatalf("dequeued %s (prio %d idx %d), want %s", got.JobID, got.Priority, got.CreateIndex, want.JobID)
			}
			if err := b.Ack(got.ID, token); err != nil {
				t.Fatal(err)
			}
		}
		expectEmpty(t, b, services, time.Second)
		expectEmpty(t, b, []string{"batch"}, time.Second)
	})
}

func TestBrokerOneOutstandingEvalPerJob(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := testBroker(BrokerConfig{})
		first, older, newer := brokerEval("web", 50, 1), brokerEval("web", 50, 2), brokerEval("web", 50, 3)
		b.Enqueue(first)
		b.Enqueue(older)
		b.Enqueue(newer)
		got, token := dequeue(t, b, time.Second)
		if got.ID != first.ID {
			t.Fatalf("dequeued %d first", got.CreateIndex)
		}
		expectEmpty(t, b, services, time.Second)
		if st := b.Stats(); st.TotalPending != 2 || st.TotalUnacked != 1 {
			t.Fatalf("stats while outstanding: %+v", st)
		}
		if err := b.Ack(first.ID, "not-the-token"); !errors.Is(err, ErrTokenMismatch) {
			t.Fatalf("ack with a wrong token: %v", err)
		}
		if err := b.Ack(first.ID, token); err != nil {
			t.Fatal(err)
		}
		got, _ = dequeue(t, b, time.Second)
		if got.ID != newer.ID {
			t.Fatalf("after ack dequeued index %d, want the newest (3)", got.CreateIndex)
		}
		if c := b.Cancelable(10); len(c) != 1 || c[0].ID != older.ID {
			t.Fatalf("superseded evals: %+v", c)
		}
	})
}

func TestBrokerNackRedeliversThenFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := testBroker(BrokerConfig{DeliveryLimit: 2, InitialNackDelay: time.Second, SubsequentNackDelay: 5 * time.Second})
		e := brokerEval("web", 50, 1)
		b.Enqueue(e)
		_, token := dequeue(t, b, time.Second)
		if err := b.Nack(e.ID, token); err != nil {
			t.Fatal(err)
		}
		expectEmpty(t, b, services, 500*time.Millisecond)
		start := time.Now()
		got, token := dequeue(t, b, 2*time.Second)
		if got.ID != e.ID || time.Since(start) < 500*time.Millisecond {
			t.Fatalf("redelivery after %v", time.Since(start))
		}
		// Second delivery is the limit: the next nack fails it.
		if err := b.Nack(e.ID, token); err != nil {
			t.Fatal(err)
		}
		expectEmpty(t, b, services, 10*time.Second)
		failed, ftoken, err := b.Dequeue(context.Background(), []string{failedQueue}, time.Second)
		if err != nil || failed.ID != e.ID {
			t.Fatalf("failed queue: %v %v", failed, err)
		}
		if err := b.Ack(failed.ID, ftoken); err != nil {
			t.Fatal(err)
		}
	})
}

func TestBrokerNackTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := testBroker(BrokerConfig{NackTimeout: 5 * time.Second, InitialNackDelay: time.Nanosecond, SubsequentNackDelay: time.Nanosecond})
		e := brokerEval("web", 50, 1)
		b.Enqueue(e)
		_, token := dequeue(t, b, time.Second)
		// Inside the synctest bubble these sleeps move the fake clock (and
		// return once every goroutine is blocked); no real time passes.
		time.Sleep(3 * time.Second)
		if err := b.OutstandingReset(e.ID, token); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Second) // 6s since dequeue, 3s since the reset
		if _, ok := b.Outstanding(e.ID); !ok {
			t.Fatal("reset did not extend the nack timeout")
		}
		time.Sleep(3 * time.Second)
		got, _ := dequeue(t, b, time.Second)
		if got.ID != e.ID {
			t.Fatal("timed-out evaluation was not redelivered")
		}
		if err := b.Ack(e.ID, token); !errors.Is(err, ErrTokenMismatch) {
			t.Fatalf("ack with the first delivery's token: %v", err)
		}
	})
}

func TestBrokerDelayedEvals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := testBroker(BrokerConfig{})
		later := brokerEval("later", 50, 1)
		later.WaitUntil = time.Now().Add(10 * time.Second)
		waiting := brokerEval("waiting", 50, 2)
		waiting.Wait = 3 * time.Second
		start := time.Now()
		b.Enqueue(later)
		b.Enqueue(waiting)
		if st := b.Stats(); st.TotalWaiting != 2 || st.TotalReady != 0 {
			t.Fatalf("stats: %+v", st)
		}
		expectEmpty(t, b, services, 2*time.Second)
		got, _ := dequeue(t, b, 2*time.Second)
		if got.ID != waiting.ID {
			t.Fatalf("got %s, want the 3s wait first", got.JobID)
		}
		expectEmpty(t, b, services, 4*time.Second)
		got, _ = dequeue(t, b, 5*time.Second)
		if got.ID != later.ID || time.Since(start) != 10*time.Second {
			t.Fatalf("got %s, want the WaitUntil eval", got.JobID)
		}
	})
}

func TestBrokerRequeueWhileOutstandingAndDisable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := testBroker(BrokerConfig{})
		e := brokerEval("web", 50, 1)
		b.Enqueue(e)
		_, token := dequeue(t, b, time.Second)
		b.Enqueue(e) // e.g. reblocked and unblocked again while being processed
		expectEmpty(t, b, services, time.Second)
		if err := b.Ack(e.ID, token); err != nil {
			t.Fatal(err)
		}
		if got, _ := dequeue(t, b, time.Second); got.ID != e.ID {
			t.Fatal("requeued evaluation not delivered after ack")
		}

		done := make(chan error, 1)
		go func() {
			_, _, err := b.Dequeue(context.Background(), services, 0)
			done <- err
		}()
		synctest.Wait()
		b.SetEnabled(false)
		if err := <-done; !errors.Is(err, ErrBrokerDisabled) {
			t.Fatalf("dequeue on a disabled broker: %v", err)
		}
		b.Enqueue(brokerEval("x", 50, 9))
		if st := b.Stats(); st != (BrokerStats{}) {
			t.Fatalf("disabled broker holds %+v", st)
		}
	})
}
