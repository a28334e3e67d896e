package server

import (
	"context"
	"sort"
	"sync"

	"github.com/roam-sh/roam/structs"
)

// DefaultEventBufferSize is how many log entries' events a server keeps for
// the event stream when Config.EventBufferSize is zero (Nomad's default).
// A subscriber that falls further behind resumes at the oldest kept.
const DefaultEventBufferSize = 100

// maxBatchesPerPoll bounds one Event.Poll answer, so that a reader far
// behind catches up in several answers rather than one huge message.
const maxBatchesPerPoll = 64

// eventBuffer keeps the events of the latest log entries, oldest first. The
// FSM publishes into it as it applies; Event.Poll reads from it. Every
// server fills its own from the same log, so any server can answer.
type eventBuffer struct {
	mu      sync.Mutex
	size    int
	batches []structs.Events
	// evictedTo is the index of the newest batch dropped for room: a
	// reader asking from at or below it has missed events.
	evictedTo uint64
	// changed is closed and replaced on every publish.
	changed chan struct{}
}

func newEventBuffer(size int) *eventBuffer {
	if size <= 0 {
		size = DefaultEventBufferSize
	}
	return &eventBuffer{size: size, changed: make(chan struct{})}
}

// publish appends one entry's events; an entry that made none is skipped.
func (b *eventBuffer) publish(ev structs.Events) {
	if b == nil || len(ev.Events) == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.batches) == b.size {
		b.evictedTo = b.batches[0].Index
		copy(b.batches, b.batches[1:])
		b.batches = b.batches[:len(b.batches)-1]
	}
	b.batches = append(b.batches, ev)
	close(b.changed)
	b.changed = make(chan struct{})
}

// since returns the batches at or after index (all of them for 0), whether
// events between index and the first returned were dropped, and a channel
// closed at the next publish.
func (b *eventBuffer) since(index uint64) ([]structs.Events, bool, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	i := sort.Search(len(b.batches), func(i int) bool { return b.batches[i].Index >= index })
	out := b.batches[i:min(len(b.batches), i+maxBatchesPerPoll)]
	skipped := index > 0 && index <= b.evictedTo
	return out, skipped, b.changed
}

// eventEndpoint serves Event.*: the event stream, read by polling.
type eventEndpoint struct{ srv *Server }

// Poll answers the events at or after args.Index that the subscription
// wants, waiting for one up to the query's wait. It is served by whichever
// server is asked, never forwarded: every server makes the same events from
// the same log. An answer with no batches says nothing matched in the
// wait; the reader polls again from reply.Next.
func (e *eventEndpoint) Poll(args *structs.EventPollRequest, reply *structs.EventPollResponse) error {
	ctx, cancel := context.WithTimeout(args.Context(), queryWait(&args.QueryOptions))
	defer cancel()
	stop := context.AfterFunc(e.srv.ctx, cancel)
	defer stop()
	from := args.Index
	for {
		batches, skipped, changed := e.srv.events.since(from)
		if from == args.Index {
			reply.Skipped = skipped
		}
		if len(batches) > 0 {
			from = batches[len(batches)-1].Index + 1
		}
		reply.Batches = matchingEvents(batches, &args.Subscription)
		reply.Next = from
		if len(reply.Batches) > 0 || !waitChanged(ctx, changed) {
			break
		}
	}
	e.srv.setQueryMeta(&reply.QueryMeta)
	return nil
}

// waitChanged waits for changed to close; false when ctx ended first.
func waitChanged(ctx context.Context, changed <-chan struct{}) bool {
	select {
	case <-changed:
		return true
	case <-ctx.Done():
		return false
	}
}

// matchingEvents keeps the events sub wants, dropping batches left empty.
func matchingEvents(batches []structs.Events, sub *structs.EventSubscription) []structs.Events {
	var out []structs.Events
	for _, b := range batches {
		var keep []structs.Event
		for i := range b.Events {
			if sub.Matches(&b.Events[i]) {
				keep = append(keep, b.Events[i])
			}
		}
		if len(keep) > 0 {
			out = append(out, structs.Events{Index: b.Index, Events: keep})
		}
	}
	return out
}
