package scheduler

import (
	"testing"
	"time"

	"github.com/roam-sh/roam/structs"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// failedAlloc failed at t0 after reschedules with the given delays, the last
// one ran from t0-ran.
func failedAlloc(ran time.Duration, delays ...time.Duration) *structs.Allocation {
	a := &structs.Allocation{
		ID: "a", NodeID: "n", ClientStatus: structs.AllocClientStatusFailed, DesiredStatus: structs.AllocDesiredStatusRun,
		TaskStates: map[string]*structs.TaskState{"t": {State: structs.TaskStateDead, Failed: true, FinishedAt: t0}},
	}
	if len(delays) > 0 {
		a.RescheduleTracker = &structs.RescheduleTracker{}
		at := t0.Add(-ran)
		for i := len(delays) - 1; i >= 0; i-- {
			a.RescheduleTracker.Events = append([]*structs.RescheduleEvent{{RescheduleTime: at.UnixNano(), Delay: delays[i], PrevNodeID: "old"}}, a.RescheduleTracker.Events...)
			at = at.Add(-time.Minute)
		}
	}
	return a
}

func TestRescheduleDelay(t *testing.T) {
	s := time.Second
	cases := []struct {
		name   string
		policy structs.ReschedulePolicy
		alloc  *structs.Allocation
		want   time.Duration
	}{
		{"constant", structs.ReschedulePolicy{Delay: 5 * s, DelayFunction: "constant", Unlimited: true}, failedAlloc(s, 5*s, 5*s), 5 * s},
		{"exponential first", structs.ReschedulePolicy{Delay: 10 * s, DelayFunction: "exponential", MaxDelay: time.Minute, Unlimited: true}, failedAlloc(0), 10 * s},
		{"exponential doubles", structs.ReschedulePolicy{Delay: 10 * s, DelayFunction: "exponential", MaxDelay: time.Minute, Unlimited: true}, failedAlloc(s, 10*s, 20*s), 40 * s},
		{"exponential capped", structs.ReschedulePolicy{Delay: 10 * s, DelayFunction: "exponential", MaxDelay: time.Minute, Unlimited: true}, failedAlloc(s, 20*s, 40*s), time.Minute},
		{"exponential resets after a long run", structs.ReschedulePolicy{Delay: 10 * s, DelayFunction: "exponential", MaxDelay: time.Minute, Unlimited: true}, failedAlloc(time.Hour, 20*s, 40*s), 10 * s},
		{"fibonacci first two", structs.ReschedulePolicy{Delay: 5 * s, DelayFunction: "fibonacci", MaxDelay: time.Minute, Unlimited: true}, failedAlloc(s, 5*s), 5 * s},
		{"fibonacci sums", structs.ReschedulePolicy{Delay: 5 * s, DelayFunction: "fibonacci", MaxDelay: time.Minute, Unlimited: true}, failedAlloc(s, 5*s, 5*s, 10*s, 15*s), 25 * s},
		{"fibonacci capped", structs.ReschedulePolicy{Delay: 5 * s, DelayFunction: "fibonacci", MaxDelay: 30 * s, Unlimited: true}, failedAlloc(s, 15*s, 25*s), 30 * s},
		{"fibonacci restarted series", structs.ReschedulePolicy{Delay: 5 * s, DelayFunction: "fibonacci", MaxDelay: 30 * s, Unlimited: true}, failedAlloc(s, 30*s, 5*s), 5 * s},
	}
	for _, c := range cases {
		if got := rescheduleDelay(c.alloc, &c.policy, t0); got != c.want {
			t.Errorf("%s: delay %v, want %v", c.name, got, c.want)
		}
	}
}

func TestRescheduleDecision(t *testing.T) {
	s := time.Second
	limited := &structs.ReschedulePolicy{Attempts: 2, Interval: time.Hour, Delay: 30 * s, DelayFunction: "constant"}
	cases := []struct {
		name   string
		alloc  *structs.Allocation
		policy *structs.ReschedulePolicy
		now    time.Time
		want   rescheduleVerdict
		wantAt time.Time
	}{
		{"no policy", failedAlloc(0), nil, t0, rescheduleNever, time.Time{}},
		{"zero attempts", failedAlloc(0), &structs.ReschedulePolicy{Delay: s}, t0, rescheduleNever, time.Time{}},
		{"delay elapsed", failedAlloc(0), limited, t0.Add(time.Minute), rescheduleNow, t0.Add(30 * s)},
		{"within the window", failedAlloc(0), limited, t0.Add(29500 * time.Millisecond), rescheduleNow, t0.Add(30 * s)},
		{"later", failedAlloc(0), limited, t0.Add(5 * s), rescheduleLater, t0.Add(30 * s)},
		{"attempts used up in the interval", failedAlloc(s, 30*s, 30*s), limited, t0.Add(time.Minute), rescheduleNever, time.Time{}},
		{"unlimited", failedAlloc(s, s, s, s, s, s, s), &structs.ReschedulePolicy{Unlimited: true, Delay: s, DelayFunction: "constant"}, t0.Add(time.Minute), rescheduleNow, t0.Add(s)},
	}
	for _, c := range cases {
		got, at := rescheduleDecision(c.alloc, c.policy, "eval", c.now)
		if got != c.want || !at.Equal(c.wantAt) {
			t.Errorf("%s: %v at %v, want %v at %v", c.name, got, at, c.want, c.wantAt)
		}
	}

	// Old events fall out of the interval.
	old := failedAlloc(2*time.Hour, 30*s, 30*s)
	if got, _ := rescheduleDecision(old, limited, "eval", t0.Add(time.Minute)); got != rescheduleNow {
		t.Errorf("old events counted: %v", got)
	}
	// A follow-up evaluation already waits: nothing to do now, unless this is it.
	waiting := failedAlloc(0)
	waiting.FollowupEvalID = "followup"
	if got, _ := rescheduleDecision(waiting, limited, "other", t0.Add(5*s)); got != rescheduleNever {
		t.Errorf("waiting alloc: %v", got)
	}
	if got, _ := rescheduleDecision(waiting, limited, "followup", t0.Add(5*s)); got != rescheduleNow {
		t.Errorf("its follow-up: %v", got)
	}
	// A forced reschedule ignores the policy.
	forced := failedAlloc(s, 30*s, 30*s)
	yes := true
	forced.DesiredTransition.ForceReschedule = &yes
	if got, _ := rescheduleDecision(forced, limited, "eval", t0); got != rescheduleNow {
		t.Errorf("forced: %v", got)
	}
}

func TestNextTracker(t *testing.T) {
	p := &structs.ReschedulePolicy{Attempts: 3, Interval: time.Hour, Delay: 10 * time.Second, DelayFunction: "exponential", MaxDelay: time.Hour}
	prev := failedAlloc(time.Second, 10*time.Second)
	prev.RescheduleTracker.Events = append([]*structs.RescheduleEvent{{RescheduleTime: t0.Add(-3 * time.Hour).UnixNano()}}, prev.RescheduleTracker.Events...)
	tr := nextTracker(prev, p, t0)
	if len(tr.Events) != 2 {
		t.Fatalf("events %d, want the recent one plus the new one", len(tr.Events))
	}
	last := tr.Events[1]
	if last.PrevAllocID != "a" || last.PrevNodeID != "n" || last.Delay != 20*time.Second || last.RescheduleTime != t0.UnixNano() {
		t.Fatalf("new event %+v", last)
	}
	if pen := penaltyNodes(prev); !pen["n"] || !pen["old"] {
		t.Fatalf("penalty nodes %v", pen)
	}
	unlimited := &structs.ReschedulePolicy{Unlimited: true, Delay: time.Second, DelayFunction: "constant"}
	many := failedAlloc(time.Second, time.Second, time.Second, time.Second, time.Second, time.Second, time.Second, time.Second)
	if n := len(nextTracker(many, unlimited, t0).Events); n != maxKeptRescheduleEvents {
		t.Fatalf("unlimited tracker kept %d events", n)
	}
}
