package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/roam-sh/roam/api"
)

// Exit codes of commands that monitor an evaluation.
const (
	exitOK = 0
	// exitPlacementFailed: the evaluation finished but could not place
	// everything (or failed); the job is registered.
	exitPlacementFailed = 2
)

// monitor follows an evaluation until it is done, printing what happens:
//
//	==> <time>: Monitoring evaluation "<id8>"
//	    <time>: Evaluation triggered by job "web"
//	    <time>: Allocation "<id8>" created: node "<id8>", group "web"
//	    <time>: Evaluation status changed: "pending" -> "complete"
//	==> <time>: Evaluation "<id8>" finished with status "complete"
//
// It uses blocking queries on the evaluation, so it prints as soon as the
// servers change something, and a progress line when a whole poll interval
// passes without change.
type monitor struct {
	c       *api.Client
	w       io.Writer
	now     func() time.Time
	poll    time.Duration
	verbose bool

	status    string
	triggered bool
	allocs    map[string]string // alloc ID → last client status printed
	// deploymentID is the deployment the evaluation rolled out, once it
	// finished (deployment_monitor.go follows it).
	deploymentID string
}

func (a *app) newMonitor(c *api.Client, w io.Writer, verbose bool) *monitor {
	return &monitor{c: c, w: w, now: a.opts.Now, poll: a.opts.PollInterval, verbose: verbose}
}

func (m *monitor) headline(format string, args ...any) {
	fmt.Fprintf(m.w, "==> %s: %s\n", formatTime(m.now()), fmt.Sprintf(format, args...))
}

func (m *monitor) info(format string, args ...any) {
	fmt.Fprintf(m.w, "    %s: %s\n", formatTime(m.now()), fmt.Sprintf(format, args...))
}

func (m *monitor) id(s string) string { return shortID(s, m.verbose) }

// run monitors evalID and returns the exit code: exitOK when it completed
// and placed everything, exitPlacementFailed otherwise.
func (m *monitor) run(ctx context.Context, evalID string) (int, error) {
	m.status, m.triggered, m.allocs = "pending", false, map[string]string{}
	m.headline("Monitoring evaluation %q", m.id(evalID))
	var index uint64
	waited := time.Duration(0)
	for {
		eval, qm, err := m.c.Evaluations().Info(evalID, &api.QueryOptions{WaitIndex: index, WaitTime: m.poll, Ctx: ctx})
		if err != nil {
			if ctx.Err() != nil {
				return 1, fmt.Errorf("monitoring evaluation %q interrupted: %w", m.id(evalID), ctx.Err())
			}
			return 1, fmt.Errorf("read evaluation %q: %w", m.id(evalID), err)
		}
		m.observe(eval)
		if err := m.observeAllocs(eval); err != nil {
			return 1, err
		}
		m.observeStatus(eval)
		if eval.Status.Terminal() {
			m.deploymentID = eval.DeploymentID
			return m.finished(eval), nil
		}
		if qm.LastIndex == index {
			waited += m.poll
			m.info("Evaluation %q still %q after %s", m.id(evalID), eval.Status, waited.Round(time.Second))
		}
		index = qm.LastIndex
	}
}

// observe prints, once, what triggered the evaluation.
func (m *monitor) observe(eval *api.Evaluation) {
	if m.triggered {
		return
	}
	m.triggered = true
	if eval.NodeID != "" {
		m.info("Evaluation triggered by node %q", m.id(eval.NodeID))
	} else {
		m.info("Evaluation triggered by job %q", eval.JobID)
	}
}

// observeStatus prints a change of the evaluation's status. It runs after
// observeAllocs so that placements are listed before "complete".
func (m *monitor) observeStatus(eval *api.Evaluation) {
	if s := string(eval.Status); s != m.status {
		m.info("Evaluation status changed: %q -> %q", m.status, s)
		m.status = s
	}
}

// observeAllocs prints allocations the evaluation created or changed; an
// allocation older than the evaluation was updated in place.
func (m *monitor) observeAllocs(eval *api.Evaluation) error {
	allocs, _, err := m.c.Evaluations().Allocations(eval.ID, nil)
	if err != nil {
		return fmt.Errorf("list allocations of evaluation %q: %w", m.id(eval.ID), err)
	}
	for _, a := range allocs {
		last, seen := m.allocs[a.ID]
		status := string(a.ClientStatus)
		switch {
		case !seen && a.CreateIndex >= eval.CreateIndex:
			m.info("Allocation %q created: node %q, group %q", m.id(a.ID), m.id(a.NodeID), a.TaskGroup)
		case !seen:
			m.info("Allocation %q modified: node %q, group %q", m.id(a.ID), m.id(a.NodeID), a.TaskGroup)
		case last != status:
			m.info("Allocation %q status changed: %q -> %q (%s)", m.id(a.ID), last, status, a.ClientDescription)
		}
		m.allocs[a.ID] = status
	}
	return nil
}

// finished prints the outcome of a terminal evaluation.
func (m *monitor) finished(eval *api.Evaluation) int {
	if len(eval.FailedTGAllocs) == 0 {
		m.headline("Evaluation %q finished with status %q", m.id(eval.ID), eval.Status)
		if eval.Status != "complete" {
			return exitPlacementFailed
		}
		return exitOK
	}
	m.headline("Evaluation %q finished with status %q but failed to place all allocations:", m.id(eval.ID), eval.Status)
	head := fmt.Sprintf("    %s: ", formatTime(m.now()))
	fmt.Fprint(m.w, failedPlacements(eval.FailedTGAllocs, head, "      "))
	if eval.BlockedEval != "" {
		m.info("Evaluation %q waiting for additional capacity to place remainder", m.id(eval.BlockedEval))
	}
	return exitPlacementFailed
}

// monitorOrDetach ends a write that created evalID: with detach it prints
// the ID, else it monitors. It turns the monitor's code into the command's
// result.
func (a *app) monitorOrDetach(ctx context.Context, c *api.Client, w io.Writer, evalID string, detach, verbose bool) error {
	if evalID == "" {
		return nil
	}
	if detach {
		fmt.Fprintf(w, "Evaluation ID: %s\n", evalID)
		return nil
	}
	m := a.newMonitor(c, w, verbose)
	code, err := m.run(ctx, evalID)
	if err != nil {
		return err
	}
	if code, err = m.followEvalDeployment(ctx, code); err != nil {
		return err
	}
	if code != exitOK {
		return &ExitError{Code: code}
	}
	return nil
}
