package cli

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/roam-sh/roam/api"
)

type nodeStatusFlags struct {
	verbose bool
	self    bool
	out     *outputFlags
}

// nodeStatusCommand is `roam node status [node]`.
func (a *app) nodeStatusCommand() *cobra.Command {
	f := &nodeStatusFlags{}
	cmd := &cobra.Command{
		Use:               "status [flags] [node]",
		ValidArgsFunction: a.completeNodes(),
		Short:             "List client nodes, or show one node",
		Args:              cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			if len(args) == 0 && !f.self {
				return nodeList(c, cmd.OutOrStdout(), f)
			}
			id, err := nodeTarget(c, cmd.OutOrStdout(), args, f.self)
			if err != nil {
				return err
			}
			return a.nodeStatus(c, cmd.OutOrStdout(), id, f)
		},
	}
	cmd.Flags().BoolVar(&f.verbose, "verbose", false, "print full IDs, attributes and meta")
	cmd.Flags().BoolVar(&f.self, "self", false, "show the node of the agent the CLI talks to")
	f.out = addOutputFlags(cmd)
	return cmd
}

func nodeList(c *api.Client, w io.Writer, f *nodeStatusFlags) error {
	nodes, _, err := c.Nodes().List(nil)
	if err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	if f.out.wanted() {
		return f.out.print(w, nodes)
	}
	if len(nodes) == 0 {
		fmt.Fprintln(w, "No nodes registered")
		return nil
	}
	fmt.Fprint(w, nodeTable(nodes, f.verbose))
	return nil
}

func nodeTable(nodes []*api.NodeListStub, verbose bool) string {
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })
	rows := [][]string{{"ID", "Node Pool", "DC", "Name", "Class", "Drain", "Eligibility", "Status"}}
	for _, n := range nodes {
		rows = append(rows, []string{shortID(n.ID, verbose), orNone(n.NodePool), n.Datacenter, n.Name,
			orNone(n.NodeClass), fmt.Sprint(n.Drain), string(n.SchedulingEligibility), string(n.Status)})
	}
	return table(rows)
}

// nodeStatusView is the -json form of one node's status.
type nodeStatusView struct {
	Node        *api.Node
	Allocations []*api.Allocation
}

func (a *app) nodeStatus(c *api.Client, w io.Writer, id string, f *nodeStatusFlags) error {
	node, _, err := c.Nodes().Info(id, nil)
	if err != nil {
		return fmt.Errorf("read node %q: %w", shortID(id, false), err)
	}
	allocs, _, err := c.Nodes().Allocations(id, nil)
	if err != nil {
		return fmt.Errorf("list allocations of node %q: %w", shortID(id, false), err)
	}
	if f.out.wanted() {
		return f.out.print(w, &nodeStatusView{Node: node, Allocations: allocs})
	}
	a.writeNodeStatus(w, node, allocs, f.verbose)
	return nil
}

func (a *app) writeNodeStatus(w io.Writer, n *api.Node, allocs []*api.Allocation, verbose bool) {
	fmt.Fprint(w, kv([][2]string{
		{"ID", shortID(n.ID, verbose)}, {"Name", n.Name}, {"Node Pool", orNone(n.NodePool)},
		{"Class", orNone(n.NodeClass)}, {"DC", n.Datacenter}, {"Drain", drainString(n)},
		{"Eligibility", string(n.SchedulingEligibility)}, {"Status", string(n.Status)},
		{"Drivers", orNone(strings.Join(healthyDrivers(n), ","))},
	}))
	writeNodeEvents(w, n)
	if n.NodeResources != nil {
		r := n.NodeResources
		fmt.Fprintf(w, "\nNode Resources\n%s", table([][]string{{"CPU", "Memory", "Disk"}, {
			fmt.Sprintf("%d MHz", r.Cpu.CpuShares), fmt.Sprintf("%d MiB", r.Memory.MemoryMB), fmt.Sprintf("%d MiB", r.Disk.DiskMB),
		}}))
	}
	fmt.Fprintln(w, "\nAllocations")
	if len(allocs) == 0 {
		fmt.Fprintln(w, "No allocations placed")
	} else {
		stubs := make([]*api.AllocListStub, len(allocs))
		for i, al := range allocs {
			stubs[i] = al.Stub()
		}
		fmt.Fprint(w, allocTable(stubs, a.opts.Now(), verbose, false))
	}
	if verbose {
		fmt.Fprintf(w, "\nAttributes\n%s", kv(sortedPairs(n.Attributes)))
		fmt.Fprintf(w, "\nMeta\n%s", kv(sortedPairs(n.Meta)))
	}
}

func drainString(n *api.Node) string {
	if n.DrainStrategy == nil {
		return "false"
	}
	if d := n.DrainStrategy.ForceDeadline; !d.IsZero() {
		return "true; deadline " + formatTime(d)
	}
	return "true"
}

func healthyDrivers(n *api.Node) []string {
	var out []string
	for _, name := range sortedKeys(n.Drivers) {
		if d := n.Drivers[name]; d != nil && d.Detected && d.Healthy {
			out = append(out, name)
		}
	}
	return out
}

func writeNodeEvents(w io.Writer, n *api.Node) {
	if len(n.Events) == 0 {
		return
	}
	rows := [][]string{{"Time", "Subsystem", "Message"}}
	for i := len(n.Events) - 1; i >= 0 && len(rows) <= 10; i-- {
		e := n.Events[i]
		rows = append(rows, []string{formatTime(e.Timestamp), e.Subsystem, e.Message})
	}
	fmt.Fprintf(w, "\nNode Events\n%s", table(rows))
}

func sortedPairs(m map[string]string) [][2]string {
	var out [][2]string
	for _, k := range sortedKeys(m) {
		out = append(out, [2]string{k, m[k]})
	}
	return out
}
