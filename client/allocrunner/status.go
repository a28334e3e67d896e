package allocrunner

import "github.com/roam-sh/roam/structs"

// ClientStatus derives an allocation's client status from its tasks' states,
// the way Nomad does: any failed task fails the allocation; otherwise any
// running task makes it running; otherwise any pending task keeps it pending;
// and only when every task is dead (successfully) is it complete.
func ClientStatus(states map[string]*structs.TaskState) (structs.AllocClientStatus, string) {
	var pending, running, dead, failed bool
	for _, st := range states {
		switch st.State {
		case structs.TaskStateRunning:
			running = true
		case structs.TaskStatePending:
			pending = true
		case structs.TaskStateDead:
			if st.Failed {
				failed = true
			} else {
				dead = true
			}
		}
	}
	switch {
	case failed:
		return structs.AllocClientStatusFailed, "Failed tasks"
	case running:
		return structs.AllocClientStatusRunning, "Tasks are running"
	case pending:
		return structs.AllocClientStatusPending, "No tasks have started"
	case dead:
		return structs.AllocClientStatusComplete, "All tasks have completed"
	}
	return structs.AllocClientStatusPending, "No tasks have started"
}
