package cli

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/roam-sh/roam/api"
)

// allocStatusCommand is `roam alloc status <alloc>`.
func (a *app) allocStatusCommand() *cobra.Command {
	var verbose, stats bool
	var logLines int
	var out *outputFlags
	cmd := &cobra.Command{
		Use:               "status [flags] <alloc>",
		ValidArgsFunction: a.completeAllocs(),
		Short:             "Show an allocation: placement, tasks and their recent events",
		Args:              cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			id, err := resolveAlloc(c, w, args[0])
			if err != nil {
				return err
			}
			alloc, _, err := c.Allocations().Info(id, nil)
			if err != nil {
				return fmt.Errorf("read allocation %q: %w", shortID(id, false), err)
			}
			if out.wanted() {
				return out.print(w, alloc)
			}
			x := liveDetails(c, alloc, stats, logLines)
			a.writeAllocStatus(w, alloc, verbose, x)
			return nil
		},
	}
	cmd.Flags().BoolVar(&verbose, "verbose", false, "print full IDs and placement metrics")
	cmd.Flags().BoolVar(&stats, "stats", false, "print detailed resource usage of the running tasks")
	cmd.Flags().IntVar(&logLines, "log-lines", 0, "print the last `N` lines of each task's stdout and stderr")
	out = addOutputFlags(cmd)
	return cmd
}

func (a *app) writeAllocStatus(w io.Writer, al *api.Allocation, verbose bool, x *allocLive) {
	now := a.opts.Now()
	fmt.Fprint(w, kv([][2]string{
		{"ID", al.ID}, {"Eval ID", shortID(al.EvalID, verbose)}, {"Name", al.Name},
		{"Node ID", shortID(al.NodeID, verbose)}, {"Node Name", orNone(al.NodeName)},
		{"Job ID", al.JobID}, {"Job Version", fmt.Sprint(al.JobVersion)},
		{"Client Status", string(al.ClientStatus)}, {"Client Description", orNone(al.ClientDescription)},
		{"Desired Status", string(al.DesiredStatus)}, {"Desired Description", orNone(al.DesiredDescription)},
		{"Created", ago(now, al.CreateTime)}, {"Modified", ago(now, al.ModifyTime)},
	}))
	if al.NextAllocation != "" {
		fmt.Fprintf(w, "Replaced by allocation %q\n", shortID(al.NextAllocation, verbose))
	}
	writeAllocAddresses(w, al)
	if verbose && al.Metrics != nil {
		fmt.Fprintf(w, "\nPlacement Metrics\n%s", kv([][2]string{
			{"Nodes Evaluated", fmt.Sprint(al.Metrics.NodesEvaluated)},
			{"Nodes Filtered", fmt.Sprint(al.Metrics.NodesFiltered)},
			{"Nodes Exhausted", fmt.Sprint(al.Metrics.NodesExhausted)},
		}))
	}
	for _, task := range taskNames(al) {
		writeTaskState(w, al, task, x)
	}
}

// writeAllocAddresses lists the group's ports: where on the host each is
// reachable and, when it is renumbered, the port inside the allocation.
func writeAllocAddresses(w io.Writer, al *api.Allocation) {
	tg := al.LookupTaskGroup()
	if tg == nil || al.AllocatedResources == nil {
		return
	}
	mode := string(tg.NetworkMode())
	dynamic := map[string]bool{}
	for _, n := range tg.Networks {
		for _, p := range n.DynamicPorts {
			dynamic[p.Label] = true
		}
	}
	ports := al.AllocatedResources.Shared.Ports
	if len(ports) == 0 && mode == "host" {
		return
	}
	head := fmt.Sprintf("mode = %q", mode)
	if st := al.NetworkStatus; st != nil && st.Address != "" {
		head += fmt.Sprintf(", address %s", st.Address)
	}
	fmt.Fprintf(w, "\nAllocation Addresses (%s):\n", head)
	if len(ports) == 0 {
		fmt.Fprintln(w, "<none>")
		return
	}
	rows := [][]string{{"Label", "Dynamic", "Address"}}
	for _, p := range ports {
		addr := fmt.Sprintf("%s:%d", p.HostIP, p.Value)
		if p.To > 0 && p.To != p.Value {
			addr += fmt.Sprintf(" -> %d", p.To)
		}
		rows = append(rows, []string{p.Label, fmt.Sprint(dynamic[p.Label]), addr})
	}
	fmt.Fprint(w, table(rows))
}

// taskNames lists the allocation's tasks: those with a state, else those of
// its group.
func taskNames(al *api.Allocation) []string {
	if len(al.TaskStates) > 0 {
		return sortedKeys(al.TaskStates)
	}
	var names []string
	if tg := al.LookupTaskGroup(); tg != nil {
		for _, t := range tg.Tasks {
			names = append(names, t.Name)
		}
	}
	return names
}

func writeTaskState(w io.Writer, al *api.Allocation, task string, x *allocLive) {
	st := al.TaskStates[task]
	state := "pending"
	if st != nil {
		state = string(st.State)
	}
	fmt.Fprintf(w, "\nTask %q is %q\n", task, state)
	writeTaskResources(w, al, task, x.taskUsage(task))
	if x.stats {
		writeTaskStats(w, x.taskUsage(task))
	}
	defer x.writeLogs(w, task)
	if st == nil {
		return
	}
	fmt.Fprintf(w, "\nTask Events:\n%s", kv([][2]string{
		{"Started At", formatTime(st.StartedAt)}, {"Finished At", formatTime(st.FinishedAt)},
		{"Total Restarts", fmt.Sprint(st.Restarts)}, {"Last Restart", formatTime(st.LastRestart)},
	}))
	fmt.Fprintf(w, "\nRecent Events:\n%s", eventTable(st.Events))
}

func writeTaskResources(w io.Writer, al *api.Allocation, task string, usage *api.TaskResourceUsage) {
	if al.AllocatedResources == nil || al.AllocatedResources.Tasks[task] == nil {
		return
	}
	r := al.AllocatedResources.Tasks[task]
	var addrs []string
	for _, p := range al.AllocatedResources.Shared.Ports {
		addrs = append(addrs, fmt.Sprintf("%s: %s:%d", p.Label, p.HostIP, p.Value))
	}
	for _, n := range r.Networks {
		for _, p := range append(append([]api.Port(nil), n.ReservedPorts...), n.DynamicPorts...) {
			addrs = append(addrs, fmt.Sprintf("%s: %s:%d", p.Label, n.IP, p.Value))
		}
	}
	sort.Strings(addrs)
	cpu, mem := fmt.Sprintf("%d MHz", r.Cpu.CpuShares), fmt.Sprintf("%d MiB", r.Memory.MemoryMB)
	if u := usage; u != nil && u.ResourceUsage != nil && u.ResourceUsage.CpuStats != nil && u.ResourceUsage.MemoryStats != nil {
		cpu = fmt.Sprintf("%.0f/%d MHz", u.ResourceUsage.CpuStats.TotalTicks, r.Cpu.CpuShares)
		mem = fmt.Sprintf("%s/%d MiB", humanBytes(u.ResourceUsage.MemoryStats.RSS), r.Memory.MemoryMB)
	}
	rows := [][]string{{"CPU", "Memory", "Disk", "Addresses"}, {
		cpu, mem,
		fmt.Sprintf("%d MiB", al.AllocatedResources.Shared.DiskMB), orNone(strings.Join(addrs, ", ")),
	}}
	fmt.Fprintf(w, "Task Resources:\n%s", table(rows))
}

// eventTable lists a task's events, newest first, at most ten.
func eventTable(events []*api.TaskEvent) string {
	rows := [][]string{{"Time", "Type", "Description"}}
	for i := len(events) - 1; i >= 0 && len(rows) <= 10; i-- {
		e := events[i]
		rows = append(rows, []string{formatUnixNano(e.Time), e.Type, eventDescription(e)})
	}
	return table(rows)
}

// eventDescription is the event's display message, or one built from its
// details for events that have none.
func eventDescription(e *api.TaskEvent) string {
	if e.DisplayMessage != "" {
		return e.DisplayMessage
	}
	switch e.Type {
	case "Received":
		return "Task received by client"
	case "Started":
		return "Task started by client"
	case "Terminated":
		s := fmt.Sprintf("Exit Code: %d", e.ExitCode)
		if e.Signal != 0 {
			s += fmt.Sprintf(", Signal: %d", e.Signal)
		}
		return s
	case "Driver Failure":
		return firstNonEmpty(e.DriverError, e.Message)
	case "Killing":
		return fmt.Sprintf("Sent interrupt. Waiting %s before force killing", time.Duration(e.KillTimeout))
	case "Killed":
		return firstNonEmpty(e.KillError, "Task successfully killed")
	case "Restarting":
		return fmt.Sprintf("Task restarting in %s", time.Duration(e.StartDelay))
	case "Sibling Task Failed":
		return fmt.Sprintf("Task's sibling %q failed", e.FailedSibling)
	case "Setup Failure":
		return firstNonEmpty(e.SetupError, e.Message)
	}
	return e.Message
}
