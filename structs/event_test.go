package structs

import "testing"

func TestEventSubscriptionMatches(t *testing.T) {
	alloc := &Event{Topic: TopicAllocation, Key: "a1", Namespace: "default", FilterKeys: []string{"web", ""}}
	node := &Event{Topic: TopicNode, Key: "n1"}
	cases := []struct {
		name string
		sub  EventSubscription
		ev   *Event
		want bool
	}{
		{"every topic", EventSubscription{Topics: map[Topic][]string{TopicAll: {"*"}}}, alloc, true},
		{"topic, any key", EventSubscription{Topics: map[Topic][]string{TopicAllocation: {"*"}}}, alloc, true},
		{"other topic", EventSubscription{Topics: map[Topic][]string{TopicJob: {"*"}}}, alloc, false},
		{"by key", EventSubscription{Topics: map[Topic][]string{TopicAllocation: {"a1"}}}, alloc, true},
		{"by filter key (its job)", EventSubscription{Topics: map[Topic][]string{TopicAllocation: {"web"}}}, alloc, true},
		{"other key", EventSubscription{Topics: map[Topic][]string{TopicAllocation: {"api"}}}, alloc, false},
		{"empty filter key never matches", EventSubscription{Topics: map[Topic][]string{TopicAllocation: {""}}}, alloc, false},
		{"other namespace", EventSubscription{Topics: map[Topic][]string{TopicAll: {"*"}}, Namespace: "prod"}, alloc, false},
		{"all namespaces", EventSubscription{Topics: map[Topic][]string{TopicAll: {"*"}}, Namespace: "*"}, alloc, true},
		{"no namespace given is default", EventSubscription{Topics: map[Topic][]string{TopicAll: {"*"}}}, alloc, true},
		{"nodes are in every namespace", EventSubscription{Topics: map[Topic][]string{TopicNode: {"*"}}, Namespace: "prod"}, node, true},
	}
	for _, c := range cases {
		if got := c.sub.Matches(c.ev); got != c.want {
			t.Errorf("%s: Matches = %v, want %v", c.name, got, c.want)
		}
	}
}
