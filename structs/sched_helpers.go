package structs

import "time"

// Small read-only helpers the scheduler uses. They live here because they only
// look at one type's own fields.

// SharesPerCore is the CPU share (MHz) one whole core is worth on the node.
func (n *NodeResources) SharesPerCore() int64 {
	if n == nil || n.Cpu.TotalCpuCores == 0 {
		return 0
	}
	return n.Cpu.CpuShares / int64(n.Cpu.TotalCpuCores)
}

// LastEventTime is when the allocation last changed on the client: the latest
// task finish time, or its modify time when no task finished.
func (a *Allocation) LastEventTime() time.Time {
	var last time.Time
	for _, ts := range a.TaskStates {
		if ts != nil && ts.FinishedAt.After(last) {
			last = ts.FinishedAt
		}
	}
	if last.IsZero() && a.ModifyTime != 0 {
		return time.Unix(0, a.ModifyTime)
	}
	return last
}

// RanSuccessfully reports whether the client finished the allocation and every
// task it reported on exited successfully.
func (a *Allocation) RanSuccessfully() bool {
	if a.ClientStatus != AllocClientStatusComplete {
		return false
	}
	for _, ts := range a.TaskStates {
		if ts != nil && ts.State == TaskStateDead && ts.Failed {
			return false
		}
	}
	return true
}

// ReschedulesAllowed reports whether the policy ever replaces a failed allocation.
func (p *ReschedulePolicy) ReschedulesAllowed() bool {
	return p != nil && (p.Unlimited || p.Attempts > 0)
}
