package state

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/roam-sh/roam/structs"
)

// eventsOf applies write as the log entry (index, msg) and returns its events.
func eventsOf(t *testing.T, s *StateStore, index uint64, msg structs.MessageType, write func() error) []structs.Event {
	t.Helper()
	s.BeginEvents(index, msg)
	if err := write(); err != nil {
		t.Fatal(err)
	}
	evs := s.EndEvents()
	if len(evs.Events) > 0 && evs.Index != index {
		t.Fatalf("events at index %d, want %d", evs.Index, index)
	}
	for _, ev := range evs.Events {
		if ev.Index != index {
			t.Fatalf("event %s at %d, want %d", ev.Type, ev.Index, index)
		}
	}
	return evs.Events
}

func TestEventsFromCommittedChanges(t *testing.T) {
	s := newStore(t)
	job := testJob("web")
	node := &structs.Node{ID: structs.GenerateUUID(), SecretID: "node-secret", Name: "n1", Datacenter: "dc1"}
	alloc := testAlloc(job, node.ID)
	alloc.SignedIdentities = map[string]string{"t": "jwt-of-the-task"}
	reg := &structs.ServiceRegistration{ID: "svc-1", ServiceName: "api", Namespace: "default", JobID: "web", AllocID: alloc.ID}

	type want struct {
		topic structs.Topic
		typ   string
		key   string
	}
	steps := []struct {
		name  string
		msg   structs.MessageType
		write func() error
		want  []want
	}{
		{"job registered", structs.JobRegisterRequestType, func() error { return s.UpsertJob(10, nil, job) },
			[]want{{structs.TopicJob, structs.EventJobRegistered, "web"}}},
		{"node registered", structs.NodeRegisterRequestType, func() error { return s.UpsertNode(11, node) },
			[]want{{structs.TopicNode, structs.EventNodeRegistration, node.ID}}},
		{"node marked ineligible", structs.NodeUpdateEligibilityRequestType,
			func() error { return s.UpdateNodeEligibility(12, node.ID, structs.NodeSchedulingIneligible, nil) },
			[]want{{structs.TopicNode, structs.EventNodeEligibility, node.ID}}},
		{"allocation placed", structs.ApplyPlanResultsRequestType, func() error { return s.UpsertAllocs(12, []*structs.Allocation{alloc}) },
			[]want{{structs.TopicJob, structs.EventPlanResult, "web"}, {structs.TopicAllocation, structs.EventPlanResult, alloc.ID}}},
		{"service registered", structs.ServiceRegistrationUpsertRequestType,
			func() error { return s.UpsertServiceRegistrations(13, []*structs.ServiceRegistration{reg}) },
			[]want{{structs.TopicService, structs.EventServiceRegistration, "svc-1"}}},
		{"service deregistered", structs.ServiceRegistrationDeleteRequestType,
			func() error { return s.DeleteServiceRegistrations(14, []string{"svc-1"}, nil) },
			[]want{{structs.TopicService, structs.EventServiceDeregistration, "svc-1"}}},
		{"job purged", structs.JobDeregisterRequestType, func() error { return s.DeleteJob(15, "default", "web") },
			[]want{{structs.TopicJob, structs.EventJobDeregistered, "web"}}},
	}
	for _, st := range steps {
		got := eventsOf(t, s, 0, st.msg, st.write)
		if len(got) != len(st.want) {
			t.Fatalf("%s: %d events %+v, want %d", st.name, len(got), got, len(st.want))
		}
		for i, w := range st.want {
			if got[i].Topic != w.topic || got[i].Type != w.typ || got[i].Key != w.key {
				t.Errorf("%s: event %s %s %s, want %s %s %s", st.name, got[i].Topic, got[i].Type, got[i].Key, w.topic, w.typ, w.key)
			}
		}
	}
}

// Events travel to every subscriber and over RPC: they must not carry a
// node's secret or a task's signed identity, and must not alter the stored
// objects when they leave them out.
func TestEventsCarryNoSecrets(t *testing.T) {
	s := newStore(t)
	job := testJob("web")
	node := &structs.Node{ID: structs.GenerateUUID(), SecretID: "node-secret", Name: "n1"}
	alloc := testAlloc(job, node.ID)
	alloc.SignedIdentities = map[string]string{"t": "jwt-of-the-task"}
	nodeEvs := eventsOf(t, s, 1, structs.NodeRegisterRequestType, func() error { return s.UpsertNode(1, node) })
	allocEvs := eventsOf(t, s, 2, structs.ApplyPlanResultsRequestType, func() error { return s.UpsertAllocs(2, []*structs.Allocation{alloc}) })
	if n := nodeEvs[0].Payload.Node; n == nil || n.SecretID != "" {
		t.Fatalf("node event payload %+v carries the secret", n)
	}
	if a := allocEvs[0].Payload.Allocation; a == nil || a.SignedIdentities != nil || a.Job != nil {
		t.Fatalf("allocation event payload keeps identities or job: %+v", a)
	}
	if stored, _ := s.NodeByID(nil, node.ID); stored.SecretID != "node-secret" {
		t.Fatal("leaving the secret out of the event changed the stored node")
	}
	if stored, _ := s.AllocByID(nil, alloc.ID); stored.SignedIdentities["t"] == "" || stored.Job == nil {
		t.Fatal("leaving identities out of the event changed the stored allocation")
	}
}

// Without BeginEvents, writes record nothing (snapshots and tests).
func TestNoEventsOutsideAnEntry(t *testing.T) {
	s := newStore(t)
	if err := s.UpsertJob(1, nil, testJob("web")); err != nil {
		t.Fatal(err)
	}
	if evs := s.EndEvents(); len(evs.Events) != 0 {
		t.Fatalf("events without BeginEvents: %+v", evs)
	}
}

// Variable events name the path and never carry the (encrypted) items.
func TestVariableEventsCarryMetadataOnly(t *testing.T) {
	s := newStore(t)
	v := &structs.VariableEncrypted{
		VariableMetadata: structs.VariableMetadata{Namespace: "default", Path: "nomad/jobs/web"},
		KeyID:            "k1", Nonce: []byte("nonce"), Ciphertext: []byte("sealed-items"),
	}
	evs := eventsOf(t, s, 3, structs.VarApplyStateRequestType, func() error {
		_, err := s.ApplyVariable(3, &structs.VarApplyStateRequest{Op: structs.VarOpSet, Var: v})
		return err
	})
	if len(evs) != 1 || evs[0].Topic != structs.TopicVariable || evs[0].Type != structs.EventVariableUpdated ||
		evs[0].Key != "nomad/jobs/web" || evs[0].Payload.Variable == nil {
		t.Fatalf("variable events = %+v", evs)
	}
	if b, _ := json.Marshal(evs[0].Payload); strings.Contains(string(b), "sealed") || strings.Contains(string(b), "Ciphertext") {
		t.Fatalf("variable event payload carries the items: %s", b)
	}
}
