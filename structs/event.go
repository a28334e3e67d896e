package structs

// Topic names a family of events on the event stream (GET /v1/event/stream).
// The names are Nomad's, so subscribers written for Nomad ask for the same.
type Topic string

// The topics roam publishes. TopicAll subscribes to every topic.
const (
	TopicAll        Topic = "*"
	TopicJob        Topic = "Job"
	TopicAllocation Topic = "Allocation"
	TopicEvaluation Topic = "Evaluation"
	TopicNode       Topic = "Node"
	TopicService    Topic = "Service"
	TopicDeployment Topic = "Deployment"
	TopicNodePool   Topic = "NodePool"
	TopicVariable   Topic = "Variable"
)

// nomadOnlyTopics are topics Nomad publishes and roam does not (yet): a
// subscriber may ask for them, as it may of Nomad, and receives nothing,
// rather than being refused for a name that is valid elsewhere.
var nomadOnlyTopics = []Topic{
	TopicDeployment, // with deployments
	"ACLToken", "ACLPolicy", "ACLRole", "ACLAuthMethod", "ACLBindingRule",
	"HostVolume", "CSIVolume", "CSIPlugin", "Operator",
}

// PublishedTopics lists the topics roam publishes events on.
func PublishedTopics() []Topic {
	return []Topic{TopicJob, TopicAllocation, TopicEvaluation, TopicNode, TopicService, TopicNodePool, TopicVariable}
}

// KnownTopic reports whether a subscriber may ask for t: a topic roam
// publishes, "*", or one of Nomad's that roam has no events for yet.
func KnownTopic(t Topic) bool {
	if t == TopicAll {
		return true
	}
	for _, k := range PublishedTopics() {
		if k == t {
			return true
		}
	}
	for _, k := range nomadOnlyTopics {
		if k == t {
			return true
		}
	}
	return false
}

// Event types, as Nomad names them.
const (
	EventJobRegistered           = "JobRegistered"
	EventJobDeregistered         = "JobDeregistered"
	EventJobBatchDeregistered    = "JobBatchDeregistered"
	EventAllocationCreated       = "AllocationCreated"
	EventAllocationUpdated       = "AllocationUpdated"
	EventAllocationDesiredStatus = "AllocationUpdateDesiredStatus"
	EventPlanResult              = "PlanResult"
	EventEvaluationUpdated       = "EvaluationUpdated"
	EventNodeRegistration        = "NodeRegistration"
	EventNodeDeregistration      = "NodeDeregistration"
	EventNodeEligibility         = "NodeEligibility"
	EventNodeDrain               = "NodeDrain"
	EventNodeStatus              = "NodeStreamEvent"
	EventServiceRegistration     = "ServiceRegistration"
	EventServiceDeregistration   = "ServiceDeregistration"
	EventDeploymentStatusUpdate  = "DeploymentStatusUpdate"
	EventDeploymentPromotion     = "DeploymentPromotion"
	EventDeploymentAllocHealth   = "DeploymentAllocHealth"
	EventNodePoolUpserted        = "NodePoolUpserted"
	EventNodePoolDeleted         = "NodePoolDeleted"
	EventVariableUpdated         = "VariableUpdated"
)

// Event is one change to the cluster state, as the event stream sends it.
// Key is the changed object's ID (a job's ID, a service instance's ID);
// FilterKeys are further values a subscription's key may match (the job an
// allocation belongs to). Namespace is empty for objects outside
// namespaces (nodes), which every subscription sees.
type Event struct {
	Topic      Topic
	Type       string
	Key        string
	Namespace  string `json:",omitempty"`
	FilterKeys []string
	Index      uint64
	Payload    EventPayload
}

// EventPayload holds the changed object under the name Nomad's payloads
// use ({"Job": {...}}); exactly one field is set. It is a struct rather
// than a map so that it keeps its types across the servers' RPC.
// Payloads never carry secrets: node secrets and allocations' signed
// identities are removed when the event is made.
type EventPayload struct {
	Job        *Job                 `json:",omitempty"`
	Allocation *Allocation          `json:",omitempty"`
	Evaluation *Evaluation          `json:",omitempty"`
	Node       *Node                `json:",omitempty"`
	Service    *ServiceRegistration `json:",omitempty"`
	NodePool   *NodePool            `json:",omitempty"`
	Deployment *Deployment          `json:",omitempty"`
	// Variable is the variable's metadata only: its items stay
	// encrypted in the store and are never sent on the stream.
	Variable *VariableMetadata `json:",omitempty"`
}

// Events are the events of one Raft index: what one committed write changed.
type Events struct {
	Index  uint64
	Events []Event
}

// EventSubscription says which events a reader wants: Topics maps a topic
// to the keys wanted ("*" for every key); Namespace "*" means every
// namespace.
type EventSubscription struct {
	Topics    map[Topic][]string
	Namespace string
}

// Matches reports whether the subscription wants ev.
func (s *EventSubscription) Matches(ev *Event) bool {
	if ev.Namespace != "" && s.Namespace != "*" && ev.Namespace != namespaceOrDefault(s.Namespace) {
		return false
	}
	for _, topic := range []Topic{TopicAll, ev.Topic} {
		for _, key := range s.Topics[topic] {
			if key == "*" || key == ev.Key {
				return true
			}
			for _, fk := range ev.FilterKeys {
				// An allocation outside a deployment has an empty
				// DeploymentID among its filter keys: nothing asks for that.
				if fk != "" && key == fk {
					return true
				}
			}
		}
	}
	return false
}

func namespaceOrDefault(ns string) string {
	if ns == "" {
		return DefaultNamespace
	}
	return ns
}

// EventPollRequest asks a server for the events at or after Index that the
// subscription wants, waiting up to MaxQueryTime for one to arrive.
type EventPollRequest struct {
	Index        uint64
	Subscription EventSubscription
	QueryOptions
}

// EventPollResponse carries the matching events, oldest first. Next is the
// index to poll from next: past every event examined, matching or not, so
// a reader never sees an event twice.
type EventPollResponse struct {
	Batches []Events
	Next    uint64
	// Skipped is set when Index was older than the oldest event the server
	// still holds: the events between were dropped from its buffer and the
	// answer starts at the oldest it has.
	Skipped bool
	QueryMeta
}
