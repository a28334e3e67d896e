package cli

import (
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/spf13/cobra"

	"github.com/roam-sh/roam/api"
)

// namespaceCommand is `roam namespace`.
func (a *app) namespaceCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "namespace", Short: "Create, inspect and delete namespaces"}
	cmd.AddCommand(a.namespaceApplyCommand(), a.namespaceListCommand(), a.namespaceStatusCommand(), a.namespaceDeleteCommand())
	return cmd
}

// namespaceApplyCommand is `roam namespace apply [-description d] <name>`
// or `roam namespace apply <spec file>`.
func (a *app) namespaceApplyCommand() *cobra.Command {
	var description string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "apply <name | spec file>",
		Short: "Create or update a namespace",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			ns, err := a.namespaceFromArg(c, args[0], asJSON)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("description") {
				ns.Description = description
			}
			if _, err := c.Namespaces().Register(ns, nil); err != nil {
				return fmt.Errorf("apply namespace %q: %w", ns.Name, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Successfully applied namespace %q!\n", ns.Name)
			return nil
		},
	}
	cmd.Flags().StringVar(&description, "description", "", "the namespace's description")
	cmd.Flags().BoolVar(&asJSON, "json", false, "the spec file is JSON")
	return cmd
}

// namespaceFromArg reads a spec file when arg names one, else starts from
// the namespace as it is (so -description alone keeps its meta), or a new
// one.
func (a *app) namespaceFromArg(c *api.Client, arg string, asJSON bool) (*api.Namespace, error) {
	if st, err := os.Stat(arg); (err == nil && !st.IsDir()) || arg == "-" {
		src, isJSON, err := readSpec(a, arg, asJSON)
		if err != nil {
			return nil, err
		}
		return parseNamespaceSpec(arg, src, isJSON)
	}
	ns, _, err := c.Namespaces().Info(arg, nil)
	if api.IsNotFound(err) {
		return &api.Namespace{Name: arg}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read namespace %q: %w", arg, err)
	}
	return ns, nil
}

// namespaceSpec is the HCL form of a namespace.
type namespaceSpec struct {
	Name        string     `hcl:"name"`
	Description string     `hcl:"description,optional"`
	Quota       string     `hcl:"quota,optional"`
	Meta        *metaBlock `hcl:"meta,block"`
}

func parseNamespaceSpec(name string, src []byte, isJSON bool) (*api.Namespace, error) {
	if isJSON {
		var ns api.Namespace
		return &ns, decodeJSONSpec(name, src, &ns)
	}
	body, err := parseHCL(name, src)
	if err != nil {
		return nil, err
	}
	var spec namespaceSpec
	if diags := gohcl.DecodeBody(body, nil, &spec); diags.HasErrors() {
		return nil, diags
	}
	meta, err := decodeMeta(spec.Meta)
	if err != nil {
		return nil, err
	}
	return &api.Namespace{Name: spec.Name, Description: spec.Description, Quota: spec.Quota, Meta: meta}, nil
}

// namespaceListCommand is `roam namespace list`.
func (a *app) namespaceListCommand() *cobra.Command {
	var out *outputFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List namespaces",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			list, _, err := c.Namespaces().List(nil)
			if err != nil {
				return fmt.Errorf("list namespaces: %w", err)
			}
			if out.wanted() {
				return out.print(cmd.OutOrStdout(), list)
			}
			rows := [][]string{{"Name", "Description"}}
			for _, ns := range list {
				rows = append(rows, []string{ns.Name, ns.Description})
			}
			fmt.Fprint(cmd.OutOrStdout(), table(rows))
			return nil
		},
	}
	out = addOutputFlags(cmd)
	return cmd
}

// namespaceStatusCommand is `roam namespace status <name>`.
func (a *app) namespaceStatusCommand() *cobra.Command {
	var out *outputFlags
	cmd := &cobra.Command{
		Use:   "status <name>",
		Short: "Show a namespace",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			ns, _, err := c.Namespaces().Info(args[0], nil)
			if err != nil {
				return fmt.Errorf("read namespace %q: %w", args[0], err)
			}
			if out.wanted() {
				return out.print(cmd.OutOrStdout(), ns)
			}
			printNamespace(cmd.OutOrStdout(), ns)
			return nil
		},
	}
	out = addOutputFlags(cmd)
	return cmd
}

func printNamespace(w io.Writer, ns *api.Namespace) {
	fmt.Fprint(w, table([][]string{{"Name", "=", ns.Name}, {"Description", "=", ns.Description}}))
	printMeta(w, ns.Meta)
}

// printMeta prints a Meta map as its own section, keys sorted.
func printMeta(w io.Writer, meta map[string]string) {
	if len(meta) == 0 {
		return
	}
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	rows := make([][]string, 0, len(keys))
	for _, k := range keys {
		rows = append(rows, []string{k, "=", meta[k]})
	}
	fmt.Fprintf(w, "\nMetadata\n%s", table(rows))
}

// namespaceDeleteCommand is `roam namespace delete <name>`.
func (a *app) namespaceDeleteCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "delete <name>",
		Short: "Delete a namespace that holds no jobs and no variables",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			if _, err := c.Namespaces().Delete(args[0], nil); err != nil {
				return fmt.Errorf("delete namespace %q: %w", args[0], err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Successfully deleted namespace %q!\n", args[0])
			return nil
		},
	}
}
