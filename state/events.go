package state

import (
	"github.com/hashicorp/go-memdb"

	"github.com/roam-sh/roam/structs"
)

// Events: the store turns what a committed write changed into the events of
// the event stream. The FSM brackets each log entry with BeginEvents and
// EndEvents; writes in between record their changes (memdb's change
// tracking), and EndEvents converts them with eventSources. Because the
// events come from the changes themselves, every server makes the same
// events from the same log, and no write path can forget to emit one.

// eventTypes names the events of each kind of log entry, as Nomad does:
// every object an entry changes is reported with the entry's type (a
// registration's evaluation is "JobRegistered" too). Entries not listed
// (evaluation and allocation garbage collection, keys, cluster metadata)
// make no events.
var eventTypes = map[structs.MessageType]string{
	structs.NodeRegisterRequestType:                 structs.EventNodeRegistration,
	structs.NodeDeregisterRequestType:               structs.EventNodeDeregistration,
	structs.NodeUpdateStatusRequestType:             structs.EventNodeStatus,
	structs.NodeUpdateDrainRequestType:              structs.EventNodeDrain,
	structs.NodeUpdateEligibilityRequestType:        structs.EventNodeEligibility,
	structs.JobRegisterRequestType:                  structs.EventJobRegistered,
	structs.JobDeregisterRequestType:                structs.EventJobDeregistered,
	structs.JobBatchDeregisterRequestType:           structs.EventJobBatchDeregistered,
	structs.EvalUpdateRequestType:                   structs.EventEvaluationUpdated,
	structs.AllocClientUpdateRequestType:            structs.EventAllocationUpdated,
	structs.ApplyPlanResultsRequestType:             structs.EventPlanResult,
	structs.AllocUpdateDesiredTransitionRequestType: structs.EventAllocationDesiredStatus,
	structs.ServiceRegistrationUpsertRequestType:    structs.EventServiceRegistration,
	structs.ServiceRegistrationDeleteRequestType:    structs.EventServiceDeregistration,
	// A change of an instance's health is a new registration of it:
	// watchers of the catalog see it come and go from health-aware reads.
	structs.ServiceRegistrationUpdateHealthRequestType: structs.EventServiceRegistration,
	structs.NodePoolUpsertRequestType:                  structs.EventNodePoolUpserted,
	structs.NodePoolDeleteRequestType:                  structs.EventNodePoolDeleted,
	structs.VarApplyStateRequestType:                   structs.EventVariableUpdated,
	structs.DeploymentStatusUpdateRequestType:          structs.EventDeploymentStatusUpdate,
	structs.DeploymentPromoteRequestType:               structs.EventDeploymentPromotion,
	structs.DeploymentAllocHealthRequestType:           structs.EventDeploymentAllocHealth,
}

// eventSource turns a change to one table into an event. Tables not listed
// (indexes, job versions, summaries, derived tables, keys) make no events.
type eventSource struct {
	table string
	topic structs.Topic
	// event fills key, namespace, filter keys and payload from the object
	// after the change (before it, for deletes).
	event func(obj any) structs.Event
	// deletes: removing the object is an event (for evaluations and
	// allocations it is garbage collection, and is not).
	deletes bool
	// typ, when set and not empty, names the event instead of the entry's
	// type.
	typ func(deleted bool) string
}

// eventSources is the ordered list of tables that make events; a batch's
// events come in this order, so a subscriber sees a job before the
// evaluation and allocations it caused.
var eventSources = []eventSource{
	{table: tableJobs, topic: structs.TopicJob, event: jobEvent, deletes: true},
	{table: tableNodes, topic: structs.TopicNode, event: nodeEvent, deletes: true, typ: nodeEventType},
	{table: tableEvals, topic: structs.TopicEvaluation, event: evalEvent},
	{table: tableAllocs, topic: structs.TopicAllocation, event: allocEvent},
	// Service events say what happened to the instance whatever removed
	// it (Nomad types a removal by a client's allocation update
	// "AllocationUpdated"; watchers of the catalog want to know it left).
	{table: tableServices, topic: structs.TopicService, event: serviceEvent, deletes: true, typ: serviceEventType},
	{table: tableNodePools, topic: structs.TopicNodePool, event: nodePoolEvent, deletes: true},
	{table: tableVariables, topic: structs.TopicVariable, event: variableEvent, deletes: true},
	{table: tableDeployments, topic: structs.TopicDeployment, event: deploymentEvent},
}

// BeginEvents starts recording the changes of the log entry at index.
func (s *StateStore) BeginEvents(index uint64, msg structs.MessageType) {
	s.events = &pendingEvents{index: index, msg: msg}
}

// EndEvents stops recording and returns the events of the entry begun by
// BeginEvents (none when it changed nothing that makes events).
func (s *StateStore) EndEvents() structs.Events {
	p := s.events
	s.events = nil
	if p == nil {
		return structs.Events{}
	}
	typ, ok := eventTypes[p.msg]
	if !ok {
		return structs.Events{}
	}
	out := structs.Events{Index: p.index}
	// An object written twice by one entry (two writes of the same
	// allocation) is one event, showing it as the entry left it.
	seen := map[string]int{}
	for i := range eventSources {
		src := &eventSources[i]
		for _, ch := range p.changes {
			if ch.Table != src.table {
				continue
			}
			ev, ok := src.make(p, typ, ch)
			if !ok {
				continue
			}
			id := string(ev.Topic) + "\x00" + ev.Key
			if at, dup := seen[id]; dup {
				out.Events[at] = ev
				continue
			}
			seen[id] = len(out.Events)
			out.Events = append(out.Events, ev)
		}
	}
	return out
}

// pendingEvents collects the changes of one log entry.
type pendingEvents struct {
	index   uint64
	msg     structs.MessageType
	changes memdb.Changes
}

func (src *eventSource) make(p *pendingEvents, typ string, ch memdb.Change) (structs.Event, bool) {
	obj, deleted := ch.After, ch.Deleted()
	if deleted {
		if !src.deletes {
			return structs.Event{}, false
		}
		obj = ch.Before
	}
	ev := src.event(obj)
	ev.Topic = src.topic
	ev.Type = typ
	if src.typ != nil {
		if own := src.typ(deleted); own != "" {
			ev.Type = own
		}
	}
	ev.Index = p.index
	return ev, true
}

func jobEvent(obj any) structs.Event {
	j := obj.(*structs.Job)
	return structs.Event{Key: j.ID, Namespace: j.Namespace, Payload: structs.EventPayload{Job: j}}
}

// nodeEvent sends the node without its secret: events travel to every
// subscriber, and over RPC to client-only agents.
func nodeEvent(obj any) structs.Event {
	n := *obj.(*structs.Node)
	n.SecretID = ""
	return structs.Event{Key: n.ID, Payload: structs.EventPayload{Node: &n}}
}

func nodeEventType(deleted bool) string {
	if deleted {
		return structs.EventNodeDeregistration
	}
	return ""
}

func evalEvent(obj any) structs.Event {
	e := obj.(*structs.Evaluation)
	return structs.Event{Key: e.ID, Namespace: e.Namespace, FilterKeys: []string{e.JobID, e.DeploymentID},
		Payload: structs.EventPayload{Evaluation: e}}
}

// allocEvent leaves out the job (each allocation would carry a copy) and
// the signed workload identities, which are the task's credentials.
func allocEvent(obj any) structs.Event {
	a := *obj.(*structs.Allocation)
	a.Job = nil
	a.SignedIdentities = nil
	return structs.Event{Key: a.ID, Namespace: a.Namespace, FilterKeys: []string{a.JobID, a.DeploymentID},
		Payload: structs.EventPayload{Allocation: &a}}
}

func serviceEvent(obj any) structs.Event {
	r := obj.(*structs.ServiceRegistration)
	return structs.Event{Key: r.ID, Namespace: r.Namespace, FilterKeys: []string{r.JobID, r.ServiceName},
		Payload: structs.EventPayload{Service: r}}
}

func serviceEventType(deleted bool) string {
	if deleted {
		return structs.EventServiceDeregistration
	}
	return structs.EventServiceRegistration
}

func nodePoolEvent(obj any) structs.Event {
	p := obj.(*structs.NodePool)
	return structs.Event{Key: p.Name, Payload: structs.EventPayload{NodePool: p}}
}

// variableEvent sends the path and indexes, never the items (Nomad sends
// the metadata too).
func variableEvent(obj any) structs.Event {
	v := obj.(*structs.VariableEncrypted)
	meta := v.VariableMetadata
	return structs.Event{Key: v.Path, Namespace: v.Namespace, Payload: structs.EventPayload{Variable: &meta}}
}

func deploymentEvent(obj any) structs.Event {
	d := obj.(*structs.Deployment)
	return structs.Event{Key: d.ID, Namespace: d.Namespace, FilterKeys: []string{d.JobID},
		Payload: structs.EventPayload{Deployment: d}}
}
