package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/structs"
)

type nodeDrainFlags struct {
	enable, disable              bool
	deadline                     time.Duration
	noDeadline, force            bool
	ignoreSystem, keepIneligible bool
	yes, detach, self            bool
}

// nodeDrainCommand is `roam node drain -enable|-disable <node>`.
func (a *app) nodeDrainCommand() *cobra.Command {
	f := &nodeDrainFlags{}
	cmd := &cobra.Command{
		Use:               "drain -enable|-disable [flags] <node>",
		ValidArgsFunction: a.completeNodes(),
		Short:             "Move allocations off a node (drain) or stop draining",
		Long: "-enable marks the node ineligible and migrates its allocations, waiting\n" +
			"until they are all gone unless -detach is given; -disable stops a drain and\n" +
			"makes the node eligible again unless -keep-ineligible is given.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.nodeDrain(cmd, args, f)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.enable, "enable", false, "start draining")
	fl.BoolVar(&f.disable, "disable", false, "stop draining")
	fl.DurationVar(&f.deadline, "deadline", time.Hour, "force-stop allocations still on the node after this long")
	fl.BoolVar(&f.noDeadline, "no-deadline", false, "never force-stop allocations")
	fl.BoolVar(&f.force, "force", false, "stop all allocations immediately")
	fl.BoolVar(&f.ignoreSystem, "ignore-system", false, "leave system job allocations on the node")
	fl.BoolVar(&f.keepIneligible, "keep-ineligible", false, "with -disable: keep the node ineligible")
	fl.BoolVar(&f.yes, "yes", false, "do not ask for confirmation")
	fl.BoolVar(&f.detach, "detach", false, "return once the drain is set instead of waiting for it to finish")
	fl.BoolVar(&f.self, "self", false, "act on the node of the agent the CLI talks to")
	return cmd
}

func (a *app) nodeDrain(cmd *cobra.Command, args []string, f *nodeDrainFlags) error {
	if f.enable == f.disable {
		return fmt.Errorf("exactly one of -enable and -disable is required")
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	id, err := nodeTarget(c, out, args, f.self)
	if err != nil {
		return err
	}
	if !f.yes {
		verb := map[bool]string{true: "enable", false: "disable"}[f.enable]
		if !confirm(a.opts.Stdin, out, fmt.Sprintf("Are you sure you want to %s drain mode for node %q? [y/N] ", verb, id)) {
			fmt.Fprintln(out, "Canceling drain strategy change")
			return &ExitError{Code: 1}
		}
	}
	if f.disable {
		if _, err := c.Nodes().UpdateDrain(id, nil, !f.keepIneligible, nil); err != nil {
			return fmt.Errorf("stop draining node %q: %w", shortID(id, false), err)
		}
		fmt.Fprintf(out, "Node %q drain strategy unset\n", id)
		return nil
	}
	if _, err := c.Nodes().UpdateDrain(id, drainSpec(f), false, nil); err != nil {
		return fmt.Errorf("drain node %q: %w", shortID(id, false), err)
	}
	if f.detach {
		fmt.Fprintf(out, "Node %q drain strategy set\n", id)
		return nil
	}
	return a.watchDrain(cmd.Context(), c, out, id)
}

// drainSpec turns the flags into a drain specification: -force is a
// negative deadline (stop now), -no-deadline zero (never force).
func drainSpec(f *nodeDrainFlags) *api.DrainSpec {
	spec := &api.DrainSpec{Deadline: f.deadline, IgnoreSystemJobs: f.ignoreSystem}
	switch {
	case f.force:
		spec.Deadline = -1
	case f.noDeadline:
		spec.Deadline = 0
	}
	return spec
}

// watchDrain follows the node until its drain is over, reporting
// allocations as they are marked for migration.
func (a *app) watchDrain(ctx context.Context, c *api.Client, w io.Writer, id string) error {
	say := func(format string, args ...any) {
		fmt.Fprintf(w, "%s: %s\n", formatTime(a.opts.Now()), fmt.Sprintf(format, args...))
	}
	say("Ctrl-C to stop monitoring: will not cancel the node drain")
	say("Node %q drain strategy set", id)
	marked := map[string]bool{}
	var index uint64
	for {
		node, qm, err := c.Nodes().Info(id, &api.QueryOptions{WaitIndex: index, WaitTime: a.opts.PollInterval, Ctx: ctx})
		if err != nil {
			return fmt.Errorf("watch node %q: %w", shortID(id, false), err)
		}
		allocs, _, err := c.Nodes().Allocations(id, &api.QueryOptions{Ctx: ctx})
		if err != nil {
			return fmt.Errorf("list allocations of node %q: %w", shortID(id, false), err)
		}
		for _, al := range allocs {
			if al.DesiredTransition.ShouldMigrate() && !marked[al.ID] {
				marked[al.ID] = true
				say("Alloc %q marked for migration", shortID(al.ID, false))
			}
		}
		if node.DrainStrategy == nil {
			// The servers are done marking; the drain is complete once
			// the client has stopped what was marked.
			if err := a.waitDrainedAllocs(ctx, c, id, say); err != nil {
				return err
			}
			say("Drain complete for node %q", id)
			return nil
		}
		index = qm.LastIndex
	}
}

// waitDrainedAllocs waits until every allocation of the node that is being
// moved or stopped has stopped on its client, reporting each as it does.
func (a *app) waitDrainedAllocs(ctx context.Context, c *api.Client, id string, say func(string, ...any)) error {
	reported := map[string]bool{}
	var index uint64
	for {
		allocs, qm, err := c.Nodes().Allocations(id, &api.QueryOptions{WaitIndex: index, WaitTime: a.opts.PollInterval, Ctx: ctx})
		if err != nil {
			return fmt.Errorf("list allocations of node %q: %w", shortID(id, false), err)
		}
		running := 0
		for _, al := range allocs {
			leaving := al.DesiredStatus != structs.AllocDesiredStatusRun || al.DesiredTransition.ShouldMigrate()
			switch {
			case !leaving:
			case al.ClientStatus.Terminal():
				if !reported[al.ID] {
					reported[al.ID] = true
					say("Alloc %q has stopped (%s)", shortID(al.ID, false), al.ClientStatus)
				}
			default:
				running++
			}
		}
		if running == 0 {
			say("All allocations on node %q have stopped", id)
			return nil
		}
		index = qm.LastIndex
	}
}
