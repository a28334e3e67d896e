package api

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// Topic is a family of events on the event stream ("Job", "Allocation",
// "Evaluation", "Node", "Service", "Deployment", or "*" for all).
type Topic string

// Event is one change to the cluster's state. Payload holds the changed
// object under its kind ("Job", "Allocation", "Evaluation", "Node",
// "Service"), left as JSON for the reader to decode into the type it
// wants.
type Event struct {
	Topic      Topic
	Type       string
	Key        string
	Namespace  string
	FilterKeys []string
	Index      uint64
	Payload    map[string]json.RawMessage
}

// Events are the events of one log index. A value with Err set is the last
// the stream sends.
type Events struct {
	Index  uint64
	Events []Event
	Err    error `json:"-"`
}

// IsHeartbeat reports whether e is a keep-alive with no events.
func (e *Events) IsHeartbeat() bool { return e.Index == 0 && len(e.Events) == 0 }

// EventStream reads GET /v1/event/stream.
type EventStream struct{ c *Client }

// EventStream returns the event stream endpoint.
func (c *Client) EventStream() *EventStream { return &EventStream{c: c} }

// maxEventLine bounds one line of the stream (one log index's events).
const maxEventLine = 64 << 20

// Stream subscribes to topics (topic to keys; nil for every topic) from
// index (0: the oldest the server still holds) and sends each batch on the
// returned channel, skipping heartbeats. The channel closes when ctx ends
// or the stream fails; a failure is sent first as an Events with Err set.
func (s *EventStream) Stream(ctx context.Context, topics map[Topic][]string, index uint64, q *QueryOptions) (<-chan *Events, error) {
	r := s.c.newRequest(http.MethodGet, "/v1/event/stream")
	r.setQuery(q)
	r.params.Set("index", strconv.FormatUint(index, 10))
	for topic, keys := range topics {
		for _, k := range keys {
			r.params.Add("topic", string(topic)+":"+k)
		}
	}
	resp, err := s.c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	out := make(chan *Events, 16)
	go func() {
		defer close(out)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), maxEventLine)
		for sc.Scan() {
			var ev Events
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				sendEvents(ctx, out, &Events{Err: fmt.Errorf("decode event stream: %w", err)})
				return
			}
			if ev.IsHeartbeat() {
				continue
			}
			if !sendEvents(ctx, out, &ev) {
				return
			}
		}
		if err := sc.Err(); err != nil && ctx.Err() == nil {
			sendEvents(ctx, out, &Events{Err: fmt.Errorf("read event stream: %w", err)})
		}
	}()
	return out, nil
}

func sendEvents(ctx context.Context, ch chan<- *Events, ev *Events) bool {
	select {
	case ch <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}
