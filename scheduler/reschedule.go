package scheduler

import (
	"math"
	"time"

	"github.com/roam-sh/roam/structs"
)

// Reschedule timing.
const (
	// rescheduleWindow lets an allocation whose reschedule time is this close
	// be replaced now rather than through a follow-up evaluation.
	rescheduleWindow = time.Second
	// followupBatchWindow groups failed allocations whose reschedule times fall
	// this close together under one follow-up evaluation.
	followupBatchWindow = 5 * time.Second
	// maxKeptRescheduleEvents bounds the tracker of unlimited policies; the
	// delay functions only need the last two events.
	maxKeptRescheduleEvents = 5
)

// Delay functions of a reschedule policy.
const (
	delayConstant    = "constant"
	delayExponential = "exponential"
	delayFibonacci   = "fibonacci"
)

type rescheduleVerdict int

const (
	// rescheduleNever: the policy does not allow another attempt (or a
	// follow-up evaluation is already waiting for this allocation).
	rescheduleNever rescheduleVerdict = iota
	rescheduleNow
	rescheduleLater
)

// rescheduleDecision decides what to do with a failed allocation: replace it
// now, create a follow-up evaluation for later, or leave it failed.
func rescheduleDecision(a *structs.Allocation, p *structs.ReschedulePolicy, evalID string, now time.Time) (rescheduleVerdict, time.Time) {
	if a.DesiredTransition.ShouldForceReschedule() {
		return rescheduleNow, now
	}
	at, ok := nextRescheduleTime(a, p)
	if !ok {
		return rescheduleNever, time.Time{}
	}
	switch {
	case a.FollowupEvalID != "" && a.FollowupEvalID == evalID:
		// This is the follow-up evaluation created for this allocation.
		return rescheduleNow, at
	case !at.After(now.Add(rescheduleWindow)):
		return rescheduleNow, at
	case a.FollowupEvalID == "":
		return rescheduleLater, at
	}
	// A follow-up evaluation already waits for it.
	return rescheduleNever, at
}

// nextRescheduleTime returns when the failed allocation may be replaced, and
// false when its policy has no attempts left.
func nextRescheduleTime(a *structs.Allocation, p *structs.ReschedulePolicy) (time.Time, bool) {
	if !p.ReschedulesAllowed() {
		return time.Time{}, false
	}
	failedAt := a.LastEventTime()
	if !p.Unlimited && attemptsInInterval(a.RescheduleTracker, p, failedAt) >= p.Attempts {
		return time.Time{}, false
	}
	return failedAt.Add(rescheduleDelay(a, p, failedAt)), true
}

// attemptsInInterval counts the reschedules within the policy interval before t.
func attemptsInInterval(t *structs.RescheduleTracker, p *structs.ReschedulePolicy, at time.Time) int {
	if t == nil {
		return 0
	}
	if p.Interval <= 0 {
		return len(t.Events)
	}
	since := at.Add(-p.Interval).UnixNano()
	n := 0
	for _, e := range t.Events {
		if e.RescheduleTime > since {
			n++
		}
	}
	return n
}

// rescheduleDelay is how long to wait after the failure before replacing the
// allocation. Exponential and Fibonacci delays grow from the previous events'
// delays up to MaxDelay; an allocation that ran longer than the delay it would
// get starts the series again.
func rescheduleDelay(a *structs.Allocation, p *structs.ReschedulePolicy, failedAt time.Time) time.Duration {
	var events []*structs.RescheduleEvent
	if a.RescheduleTracker != nil {
		events = a.RescheduleTracker.Events
	}
	d := growDelay(p, events)
	if p.MaxDelay > 0 && d > p.MaxDelay {
		d = p.MaxDelay
	}
	if n := len(events); n > 0 && p.DelayFunction != delayConstant && p.DelayFunction != "" {
		ran := failedAt.Sub(time.Unix(0, events[n-1].RescheduleTime))
		if ran > d {
			d = p.Delay
		}
	}
	return d
}

func growDelay(p *structs.ReschedulePolicy, events []*structs.RescheduleEvent) time.Duration {
	n := len(events)
	switch p.DelayFunction {
	case delayExponential:
		if n == 0 {
			return p.Delay
		}
		// Saturate rather than wrap: a wrapped (negative) delay would
		// reschedule at once, again and again.
		last := events[n-1].Delay
		if last > math.MaxInt64/2 {
			return math.MaxInt64
		}
		return max(last*2, p.Delay)
	case delayFibonacci:
		if n < 2 {
			return p.Delay
		}
		last, prev := events[n-1].Delay, events[n-2].Delay
		if prev > last {
			// The series restarted at the last event: its second term.
			return last
		}
		if last > math.MaxInt64-prev {
			return math.MaxInt64
		}
		return last + prev
	}
	return p.Delay
}

// nextTracker returns the reschedule tracker of the replacement of prev.
func nextTracker(prev *structs.Allocation, p *structs.ReschedulePolicy, now time.Time) *structs.RescheduleTracker {
	var kept []*structs.RescheduleEvent
	if prev.RescheduleTracker != nil {
		kept = keptEvents(prev.RescheduleTracker.Events, p, now)
	}
	failedAt := prev.LastEventTime()
	delay := time.Duration(0)
	if p != nil {
		delay = rescheduleDelay(prev, p, failedAt)
	}
	events := make([]*structs.RescheduleEvent, 0, len(kept)+1)
	events = append(events, kept...)
	events = append(events, &structs.RescheduleEvent{
		RescheduleTime: now.UnixNano(), PrevAllocID: prev.ID, PrevNodeID: prev.NodeID, Delay: delay,
	})
	return &structs.RescheduleTracker{Events: events}
}

// keptEvents drops events the policy no longer needs: those outside the
// interval for limited policies, all but the last few for unlimited ones.
func keptEvents(events []*structs.RescheduleEvent, p *structs.ReschedulePolicy, now time.Time) []*structs.RescheduleEvent {
	if p == nil || p.Unlimited || p.Interval <= 0 {
		if len(events) > maxKeptRescheduleEvents-1 {
			return events[len(events)-(maxKeptRescheduleEvents-1):]
		}
		return events
	}
	since := now.Add(-p.Interval).UnixNano()
	var out []*structs.RescheduleEvent
	for _, e := range events {
		if e.RescheduleTime > since {
			out = append(out, e)
		}
	}
	return out
}

// penaltyNodes are the nodes a rescheduled allocation already failed on.
func penaltyNodes(prev *structs.Allocation) map[string]bool {
	out := map[string]bool{prev.NodeID: true}
	if prev.RescheduleTracker != nil {
		for _, e := range prev.RescheduleTracker.Events {
			out[e.PrevNodeID] = true
		}
	}
	return out
}
