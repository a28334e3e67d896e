package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	nomadapi "github.com/hashicorp/nomad/api"

	"github.com/roam-sh/roam/internal/apitest"
)

// nextEvent reads batches from ch until want accepts an event, failing the
// test on a stream error or after the deadline; every event read is passed
// to seen first (nil to ignore).
func nextEvent(t *testing.T, ch <-chan *nomadapi.Events, seen func(nomadapi.Event), want func(nomadapi.Event) bool) nomadapi.Event {
	t.Helper()
	deadline := time.After(apitest.Wait)
	for {
		select {
		case batch, ok := <-ch:
			if !ok {
				t.Fatal("event stream closed")
			}
			if batch.Err != nil {
				t.Fatalf("event stream: %v", batch.Err)
			}
			for _, ev := range batch.Events {
				if seen != nil {
					seen(ev)
				}
				if want(ev) {
					return ev
				}
			}
		case <-deadline:
			t.Fatal("no matching event before the deadline")
		}
	}
}

func payloadID(ev nomadapi.Event, kind string) string {
	obj, _ := ev.Payload[kind].(map[string]any)
	id, _ := obj["ID"].(string)
	return id
}

// Nomad's own Go client follows the stream: a subscription to one job sees
// that job's registration and the placement of its allocations (matched
// through their job), and never another job's events.
func TestEventStreamWithNomadGoClient(t *testing.T) {
	c := apitest.Start(t)
	c.RegisterNode(t)
	nc := nomadClient(t, c)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	topics := map[nomadapi.Topic][]string{"Job": {"ev-web"}, "Allocation": {"ev-web"}}
	ch, err := nc.EventStream().Stream(ctx, topics, 0, &nomadapi.QueryOptions{})
	if err != nil {
		t.Fatalf("EventStream().Stream: %v", err)
	}
	if _, _, err := nc.Jobs().Register(nomadJob("ev-other", 1), nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := nc.Jobs().Register(nomadJob("ev-web", 1), nil); err != nil {
		t.Fatal(err)
	}
	foreign := func(ev nomadapi.Event) {
		if ev.Key == "ev-other" || strings.Contains(fmt.Sprint(ev.FilterKeys), "ev-other") {
			t.Errorf("subscription to ev-web received %s %s of ev-other", ev.Topic, ev.Type)
		}
	}
	reg := nextEvent(t, ch, foreign, func(ev nomadapi.Event) bool { return ev.Topic == "Job" })
	if reg.Type != "JobRegistered" || reg.Key != "ev-web" || payloadID(reg, "Job") != "ev-web" || reg.Index == 0 {
		t.Fatalf("first job event = %+v, want JobRegistered of ev-web with its payload", reg)
	}
	alloc := nextEvent(t, ch, foreign, func(ev nomadapi.Event) bool { return ev.Topic == "Allocation" })
	if alloc.Type != "PlanResult" || payloadID(alloc, "Allocation") != alloc.Key {
		t.Fatalf("first allocation event = %+v, want the PlanResult placing it", alloc)
	}
	if a, _ := alloc.Payload["Allocation"].(map[string]any); a["Job"] != nil {
		t.Errorf("allocation event carries the whole job; Nomad leaves it out")
	}

	// Resuming at the registration's index starts with that entry, as
	// Nomad's stream does.
	again, err := nc.EventStream().Stream(ctx, map[nomadapi.Topic][]string{"Job": {"*"}}, reg.Index, &nomadapi.QueryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	first := nextEvent(t, again, nil, func(nomadapi.Event) bool { return true })
	if first.Index != reg.Index || first.Key != "ev-web" {
		t.Fatalf("stream resumed at %d gave %s at %d first, want ev-web at %d", reg.Index, first.Key, first.Index, reg.Index)
	}
}

// Node events go to every namespace's subscribers and never carry the
// node's secret.
func TestEventStreamNodeEvents(t *testing.T) {
	c := apitest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := nomadClient(t, c).EventStream().Stream(ctx, map[nomadapi.Topic][]string{"Node": {"*"}}, 0,
		&nomadapi.QueryOptions{Namespace: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	node := c.RegisterNode(t)
	ev := nextEvent(t, ch, nil, func(ev nomadapi.Event) bool { return ev.Key == node.ID })
	if ev.Type != "NodeRegistration" || payloadID(ev, "Node") != node.ID {
		t.Fatalf("node event = %+v, want NodeRegistration with the node", ev)
	}
	if b, _ := json.Marshal(ev.Payload); strings.Contains(string(b), node.SecretID) {
		t.Fatal("node event carries the node's SecretID")
	}
}

// Bad subscriptions are refused with 400 and a message, not left waiting.
func TestEventStreamRefusesBadTopics(t *testing.T) {
	c := apitest.Start(t)
	for _, q := range []string{"topic=Jobs", "topic=Job:a:b", "topic=Job:", "index=x"} {
		resp, err := http.Get(c.URL + "/v1/event/stream?" + q)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || len(strings.TrimSpace(string(body))) == 0 {
			t.Errorf("?%s: %d %q, want 400 with a message", q, resp.StatusCode, body)
		}
	}
	// A topic Nomad knows and roam has no events for yet is accepted.
	ctx, cancel := context.WithTimeout(context.Background(), apitest.Wait)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.URL+"/v1/event/stream?topic=Variable", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	line := make([]byte, 3)
	if _, err := io.ReadFull(resp.Body, line); err != nil || resp.StatusCode != http.StatusOK || string(line) != "{}\n" {
		t.Fatalf("?topic=Variable: %d %q %v, want 200 and a heartbeat", resp.StatusCode, line, err)
	}
}
