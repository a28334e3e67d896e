package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/roam-sh/roam/structs"
)

// eventHeartbeat is how often the stream sends "{}" when nothing matched:
// it keeps idle connections (and proxies between) open and lets the agent
// notice a reader that went away. Nomad's interval.
const eventHeartbeat = 10 * time.Second

// eventRetry is the pause before polling again after a failed poll.
const eventRetry = time.Second

// eventWriteTimeout bounds one write to a reader that stopped reading.
const eventWriteTimeout = 30 * time.Second

// Bounds of one subscription: topic parameters and the length of a key.
const (
	maxEventTopics   = 64
	maxEventKeyBytes = 512
)

// eventStream: GET /v1/event/stream?topic=Job:web&topic=Node&index=&namespace=.
// It answers newline-delimited JSON, one object per log entry
// ({"Index": n, "Events": [...]}) and "{}" as a heartbeat, as Nomad's does,
// until the reader goes away. Events come from the servers by polling
// (Event.Poll), so a client-only agent streams them too.
func (h *handlers) eventStream(w http.ResponseWriter, r *http.Request) {
	args, err := parseEventStream(r)
	if err != nil {
		writeError(w, statusCode(err), errorMessage(err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	s := &eventWriter{w: w, rc: http.NewResponseController(w), enc: json.NewEncoder(w)}
	if s.heartbeat() != nil {
		return
	}
	h.pollEvents(r.Context(), args, s)
}

// pollEvents polls the servers and writes what they answer until ctx ends
// or the reader stops reading. A failed poll (no server reachable, a
// leader election) is retried every eventRetry, with a heartbeat to the
// reader: the stream stays open and resumes where it was.
func (h *handlers) pollEvents(ctx context.Context, args *structs.EventPollRequest, s *eventWriter) {
	for ctx.Err() == nil {
		var out structs.EventPollResponse
		args.SetContext(ctx)
		if err := h.rpc.RPC(structs.MethodEventPoll, args, &out); err != nil {
			if ctx.Err() != nil {
				return
			}
			h.logger.Warn("event stream: poll failed, retrying", "error", err)
			if s.heartbeat() != nil || !sleepCtx(ctx, eventRetry) {
				return
			}
			continue
		}
		if out.Skipped {
			h.logger.Warn("event stream: reader fell behind the server's event buffer; events were dropped",
				"from_index", args.Index)
		}
		if err := s.batches(out.Batches); err != nil {
			return
		}
		args.Index = out.Next
	}
}

// eventWriter writes the ndjson stream, flushing each line.
type eventWriter struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	enc *json.Encoder
}

func (s *eventWriter) heartbeat() error {
	return s.write(struct{}{})
}

// batches writes each batch as one line, or a heartbeat when there are none.
func (s *eventWriter) batches(bs []structs.Events) error {
	if len(bs) == 0 {
		return s.heartbeat()
	}
	for i := range bs {
		if err := s.write(&bs[i]); err != nil {
			return err
		}
	}
	return nil
}

func (s *eventWriter) write(v any) error {
	_ = s.rc.SetWriteDeadline(time.Now().Add(eventWriteTimeout))
	if err := s.enc.Encode(v); err != nil {
		return err
	}
	return s.rc.Flush()
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// parseEventStream reads the subscription: each topic parameter is
// "Topic" (every key) or "Topic:Key"; none means every topic. Topics are
// Nomad's names; one neither roam nor Nomad knows is refused, so a typo
// does not wait forever on nothing.
func parseEventStream(r *http.Request) (*structs.EventPollRequest, error) {
	v := r.URL.Query()
	index, err := uintParam(v, "index")
	if err != nil {
		return nil, err
	}
	raw := v["topic"]
	if len(raw) > maxEventTopics {
		return nil, badRequest("too many topic parameters (%d; at most %d)", len(raw), maxEventTopics)
	}
	topics := map[structs.Topic][]string{}
	if len(raw) == 0 {
		topics[structs.TopicAll] = []string{"*"}
	}
	for _, t := range raw {
		topic, key, err := parseEventTopic(t)
		if err != nil {
			return nil, err
		}
		topics[topic] = append(topics[topic], key)
	}
	args := &structs.EventPollRequest{
		Index:        index,
		Subscription: structs.EventSubscription{Topics: topics, Namespace: v.Get("namespace")},
	}
	args.Region = v.Get("region")
	args.Namespace = v.Get("namespace")
	args.AuthToken = authToken(r)
	args.AllowStale = true
	args.MaxQueryTime = eventHeartbeat
	return args, nil
}

func parseEventTopic(s string) (structs.Topic, string, error) {
	name, key, hasKey := strings.Cut(s, ":")
	if !hasKey {
		key = "*"
	}
	if strings.Contains(key, ":") {
		return "", "", badRequest("invalid topic %q: want Topic or Topic:Key", s)
	}
	topic := structs.Topic(name)
	if !structs.KnownTopic(topic) {
		return "", "", badRequest("unknown event topic %q (roam publishes %s; \"*\" is every topic)", name, topicList())
	}
	if key == "" || len(key) > maxEventKeyBytes {
		return "", "", badRequest("invalid key in topic %q: want 1 to %d bytes, or \"*\"", s, maxEventKeyBytes)
	}
	return topic, key, nil
}

func topicList() string {
	var names []string
	for _, t := range structs.PublishedTopics() {
		names = append(names, string(t))
	}
	return strings.Join(names, ", ")
}
