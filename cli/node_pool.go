package cli

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/spf13/cobra"

	"github.com/roam-sh/roam/api"
)

// nodePoolCommand is `roam node pool`.
func (a *app) nodePoolCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "pool", Short: "Create, inspect and delete node pools"}
	cmd.AddCommand(a.nodePoolApplyCommand(), a.nodePoolListCommand(), a.nodePoolInfoCommand(),
		a.nodePoolNodesCommand(), a.nodePoolJobsCommand(), a.nodePoolDeleteCommand())
	return cmd
}

// nodePoolApplyCommand is `roam node pool apply <spec file>`.
func (a *app) nodePoolApplyCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "apply <spec file>",
		Short: "Create or update a node pool from a spec file (HCL or JSON; - for stdin)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			src, isJSON, err := readSpec(a, args[0], asJSON)
			if err != nil {
				return err
			}
			pool, err := parseNodePoolSpec(args[0], src, isJSON)
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			if _, err := c.NodePools().Register(pool, nil); err != nil {
				return fmt.Errorf("apply node pool %q: %w", pool.Name, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Successfully applied node pool %q!\n", pool.Name)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "the spec file is JSON")
	return cmd
}

// nodePoolFile is the HCL form: node_pool "name" { description, meta {} }.
type nodePoolFile struct {
	Pool *struct {
		Name        string     `hcl:"name,label"`
		Description string     `hcl:"description,optional"`
		Meta        *metaBlock `hcl:"meta,block"`
		Remain      hcl.Body   `hcl:",remain"`
	} `hcl:"node_pool,block"`
}

func parseNodePoolSpec(name string, src []byte, isJSON bool) (*api.NodePool, error) {
	if isJSON {
		var pool api.NodePool
		return &pool, decodeJSONSpec(name, src, &pool)
	}
	body, err := parseHCL(name, src)
	if err != nil {
		return nil, err
	}
	var f nodePoolFile
	if diags := gohcl.DecodeBody(body, nil, &f); diags.HasErrors() {
		return nil, diags
	}
	if f.Pool == nil {
		return nil, fmt.Errorf("%s: no node_pool block", name)
	}
	if attrs, _ := f.Pool.Remain.JustAttributes(); len(attrs) > 0 {
		for n, attr := range attrs {
			return nil, fmt.Errorf("%s: node_pool %q: roam does not support %q", attr.NameRange, f.Pool.Name, n)
		}
	}
	if content, _, _ := f.Pool.Remain.PartialContent(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "scheduler_config"}}}); len(content.Blocks) > 0 {
		return nil, fmt.Errorf("%s: node_pool %q: roam has no per-pool scheduler_config", content.Blocks[0].DefRange, f.Pool.Name)
	}
	meta, err := decodeMeta(f.Pool.Meta)
	if err != nil {
		return nil, err
	}
	return &api.NodePool{Name: f.Pool.Name, Description: f.Pool.Description, Meta: meta}, nil
}

// nodePoolListCommand is `roam node pool list`.
func (a *app) nodePoolListCommand() *cobra.Command {
	var out *outputFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List node pools",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			pools, _, err := c.NodePools().List(nil)
			if err != nil {
				return fmt.Errorf("list node pools: %w", err)
			}
			if out.wanted() {
				return out.print(cmd.OutOrStdout(), pools)
			}
			rows := [][]string{{"Name", "Description"}}
			for _, p := range pools {
				rows = append(rows, []string{p.Name, p.Description})
			}
			fmt.Fprint(cmd.OutOrStdout(), table(rows))
			return nil
		},
	}
	out = addOutputFlags(cmd)
	return cmd
}

// nodePoolInfoCommand is `roam node pool info <name>`.
func (a *app) nodePoolInfoCommand() *cobra.Command {
	var out *outputFlags
	cmd := &cobra.Command{
		Use:   "info <name>",
		Short: "Show a node pool",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			pool, _, err := c.NodePools().Info(args[0], nil)
			if err != nil {
				return fmt.Errorf("read node pool %q: %w", args[0], err)
			}
			if out.wanted() {
				return out.print(cmd.OutOrStdout(), pool)
			}
			w := cmd.OutOrStdout()
			fmt.Fprint(w, table([][]string{{"Name", "=", pool.Name}, {"Description", "=", pool.Description}}))
			printMeta(w, pool.Meta)
			return nil
		},
	}
	out = addOutputFlags(cmd)
	return cmd
}

// nodePoolNodesCommand is `roam node pool nodes <name>`.
func (a *app) nodePoolNodesCommand() *cobra.Command {
	var out *outputFlags
	var verbose bool
	cmd := &cobra.Command{
		Use:   "nodes <name>",
		Short: "List the nodes of a node pool",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			nodes, _, err := c.NodePools().ListNodes(args[0], nil)
			if err != nil {
				return fmt.Errorf("list nodes of pool %q: %w", args[0], err)
			}
			if out.wanted() {
				return out.print(cmd.OutOrStdout(), nodes)
			}
			if len(nodes) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "No nodes in node pool %q\n", args[0])
				return nil
			}
			fmt.Fprint(cmd.OutOrStdout(), nodeTable(nodes, verbose))
			return nil
		},
	}
	cmd.Flags().BoolVar(&verbose, "verbose", false, "print full node IDs")
	out = addOutputFlags(cmd)
	return cmd
}

// nodePoolJobsCommand is `roam node pool jobs <name>` (-namespace, * for all).
func (a *app) nodePoolJobsCommand() *cobra.Command {
	var out *outputFlags
	cmd := &cobra.Command{
		Use:   "jobs <name>",
		Short: "List the jobs of a node pool",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			jobs, _, err := c.NodePools().ListJobs(args[0], nil)
			if err != nil {
				return fmt.Errorf("list jobs of pool %q: %w", args[0], err)
			}
			if out.wanted() {
				return out.print(cmd.OutOrStdout(), jobs)
			}
			if len(jobs) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "No jobs in node pool %q\n", args[0])
				return nil
			}
			rows := [][]string{{"ID", "Namespace", "Type", "Priority", "Status"}}
			for _, j := range jobs {
				rows = append(rows, []string{j.ID, j.Namespace, string(j.Type), fmt.Sprint(j.Priority), jobStatusString(j.Status, j.Stop)})
			}
			fmt.Fprint(cmd.OutOrStdout(), table(rows))
			return nil
		},
	}
	out = addOutputFlags(cmd)
	return cmd
}

// nodePoolDeleteCommand is `roam node pool delete <name>`.
func (a *app) nodePoolDeleteCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "delete <name>",
		Short: "Delete a node pool no node and no job uses",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			if _, err := c.NodePools().Delete(args[0], nil); err != nil {
				return fmt.Errorf("delete node pool %q: %w", args[0], err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Successfully deleted node pool %q!\n", args[0])
			return nil
		},
	}
}
