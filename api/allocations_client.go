package api

import (
	"net/http"
	"net/url"
)

func clientAllocPath(allocID, op string) string {
	return "/v1/client/allocation/" + url.PathEscape(allocID) + "/" + op
}

// Restart restarts a task of the allocation in place (all running tasks
// when task is ""); restarts do not count against the restart policy.
func (a *Allocations) Restart(allocID, task string, allTasks bool, w *WriteOptions) error {
	_, err := a.c.write(http.MethodPut, clientAllocPath(allocID, "restart"), &AllocRestartRequest{TaskName: task, AllTasks: allTasks}, nil, w)
	return err
}

// Signal sends a signal ("SIGHUP") to a task (every running task when task
// is "").
func (a *Allocations) Signal(allocID, task, signal string, w *WriteOptions) error {
	_, err := a.c.write(http.MethodPut, clientAllocPath(allocID, "signal"), &AllocSignalRequest{Task: task, Signal: signal}, nil, w)
	return err
}

// Stats returns the resource usage of the allocation's running tasks.
func (a *Allocations) Stats(allocID string, q *QueryOptions) (*AllocResourceUsage, error) {
	var out AllocResourceUsage
	if _, err := a.c.query(clientAllocPath(allocID, "stats"), &out, q); err != nil {
		return nil, err
	}
	return &out, nil
}

// Checks returns the status of the allocation's service checks, by check
// ID.
func (a *Allocations) Checks(allocID string, q *QueryOptions) (AllocCheckStatuses, error) {
	var out AllocCheckStatuses
	if _, err := a.c.query(clientAllocPath(allocID, "checks"), &out, q); err != nil {
		return nil, err
	}
	return out, nil
}
