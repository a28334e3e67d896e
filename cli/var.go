package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/spf13/cobra"

	"github.com/roam-sh/roam/api"
)

// varCommand is `roam var`: variables (docs/variables.md).
func (a *app) varCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "var", Short: "Read and write variables (encrypted key/value items)"}
	cmd.AddCommand(a.varPutCommand(), a.varGetCommand(), a.varListCommand(), a.varPurgeCommand(), a.varLockCommand())
	return cmd
}

// varFormat is an -out format.
type varFormat string

const (
	varOutJSON  varFormat = "json"
	varOutHCL   varFormat = "hcl"
	varOutTable varFormat = "table"
	varOutNone  varFormat = "none"
)

// parseVarFormat rejects formats the command does not print; "" picks
// def when stdout is a terminal and JSON when it is redirected, as Nomad's
// var commands do.
func (a *app) parseVarFormat(s string, def varFormat, allowed ...varFormat) (varFormat, error) {
	if s == "" {
		if isTerminalWriter(a.opts.Stdout) {
			return def, nil
		}
		return varOutJSON, nil
	}
	for _, f := range allowed {
		if varFormat(s) == f {
			return f, nil
		}
	}
	names := make([]string, len(allowed))
	for i, f := range allowed {
		names[i] = string(f)
	}
	return "", fmt.Errorf("invalid -out %q: one of %s", s, strings.Join(names, ", "))
}

func isTerminalWriter(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, isTTY := terminalFD(f)
	return isTTY
}

// varPutCommand is `roam var put [options] <path> [<@spec>] [key=value...]`
// or `roam var put [options] <@spec | -> [key=value...]`.
func (a *app) varPutCommand() *cobra.Command {
	var checkIndex uint64
	var force bool
	var in, outFmt string
	cmd := &cobra.Command{
		Use:   "put <path | @spec file | -> [<@spec file>] [<key>=<value>]...",
		Short: "Create or update a variable (values may be @file or - for stdin)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := a.parseVarFormat(outFmt, varOutNone, varOutJSON, varOutHCL, varOutTable, varOutNone)
			if err != nil {
				return err
			}
			v, err := a.varFromArgs(args, in)
			if err != nil {
				return err
			}
			var check *uint64
			switch {
			case cmd.Flags().Changed("check-index"):
				check = &checkIndex
			case v.ModifyIndex != 0 && !force:
				check = &v.ModifyIndex
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			out, _, err := c.Variables().Put(v, check, nil)
			if err != nil {
				return varWriteError("put", v.Path, err)
			}
			if format == varOutNone {
				fmt.Fprintf(cmd.OutOrStdout(), "Successfully created variable %q in namespace %q (modify index %d)\n", out.Path, out.Namespace, out.ModifyIndex)
				return nil
			}
			return printVariable(cmd.OutOrStdout(), out, format)
		},
	}
	cmd.Flags().Uint64Var(&checkIndex, "check-index", 0, "write only if the variable is at this modify index (0: only if it does not exist)")
	cmd.Flags().BoolVar(&force, "force", false, "write even when the spec file carries a modify index")
	cmd.Flags().StringVar(&in, "in", "json", "format of a spec read from stdin or a file without extension: json or hcl")
	cmd.Flags().StringVar(&outFmt, "out", "", "print the written variable as json, hcl, table or none")
	return cmd
}

// varWriteError explains a refused write.
func varWriteError(op, path string, err error) error {
	var ce *api.CASConflictError
	if errors.As(err, &ce) {
		return fmt.Errorf("%s variable %q: %w", op, path, ce)
	}
	return fmt.Errorf("%s variable %q: %w", op, path, err)
}

// varFromArgs builds the variable to write from a spec (@file or -) and
// key=value pairs, which win over the spec's items.
func (a *app) varFromArgs(args []string, in string) (*api.Variable, error) {
	v := &api.Variable{Items: api.VariableItems{}}
	rest := args
	if spec := args[0]; spec == "-" || strings.HasPrefix(spec, "@") {
		if err := a.readVarSpec(spec, in, v); err != nil {
			return nil, err
		}
		rest = args[1:]
	} else {
		v.Path = spec
		rest = args[1:]
		if len(rest) > 0 && strings.HasPrefix(rest[0], "@") && !strings.Contains(rest[0], "=") {
			if err := a.readVarSpec(rest[0], in, v); err != nil {
				return nil, err
			}
			v.Path, rest = spec, rest[1:]
		}
	}
	for _, kv := range rest {
		k, val, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("item %q: want <key>=<value>", kv)
		}
		val, err := a.itemValue(val)
		if err != nil {
			return nil, fmt.Errorf("item %q: %w", k, err)
		}
		v.Items[k] = val
	}
	if v.Path == "" {
		return nil, fmt.Errorf("the variable has no path")
	}
	return v, nil
}

// maxItemFile bounds a value read from a file: a variable is at most 64 KiB.
const maxItemFile = 64 << 10

// itemValue resolves @file and - values.
func (a *app) itemValue(val string) (string, error) {
	switch {
	case val == "-":
		b, err := readAllLimited(a.opts.Stdin, maxItemFile)
		return string(b), err
	case strings.HasPrefix(val, "@"):
		f, err := os.Open(val[1:])
		if err != nil {
			return "", err
		}
		defer f.Close()
		b, err := readAllLimited(f, maxItemFile)
		return string(b), err
	}
	return val, nil
}

// varSpec is the HCL form of a variable spec.
type varSpec struct {
	Namespace string     `hcl:"namespace,optional"`
	Path      string     `hcl:"path,optional"`
	Items     *metaBlock `hcl:"items,block"`
}

// readVarSpec reads a spec from @file or stdin into v.
func (a *app) readVarSpec(ref, in string, v *api.Variable) error {
	name := strings.TrimPrefix(ref, "@")
	src, _, err := readSpec(a, name, false)
	if err != nil {
		return err
	}
	isHCL := strings.HasSuffix(name, ".hcl") || (in == "hcl" && !strings.HasSuffix(name, ".json"))
	if !isHCL {
		return decodeJSONSpec(name, src, v)
	}
	body, err := parseHCL(name, src)
	if err != nil {
		return err
	}
	var spec varSpec
	if diags := gohcl.DecodeBody(body, nil, &spec); diags.HasErrors() {
		return diags
	}
	items, err := decodeMeta(spec.Items)
	if err != nil {
		return err
	}
	v.Namespace, v.Path = spec.Namespace, spec.Path
	for k, val := range items {
		v.Items[k] = val
	}
	return nil
}

// printVariable prints a variable with its items.
func printVariable(w io.Writer, v *api.Variable, format varFormat) error {
	switch format {
	case varOutJSON:
		return printJSON(w, v)
	case varOutHCL:
		fmt.Fprintf(w, "namespace = %q\npath      = %q\n\nitems {\n", v.Namespace, v.Path)
		for _, k := range sortedKeys(v.Items) {
			fmt.Fprintf(w, "  %s = %q\n", hclKey(k), v.Items[k])
		}
		fmt.Fprintln(w, "}")
		return nil
	}
	fmt.Fprint(w, table([][]string{
		{"Namespace", "=", v.Namespace}, {"Path", "=", v.Path},
		{"Create Time", "=", formatUnixNano(v.CreateTime)}, {"Check Index", "=", strconv.FormatUint(v.ModifyIndex, 10)},
	}))
	rows := [][]string{}
	for _, k := range sortedKeys(v.Items) {
		rows = append(rows, []string{k, "=", v.Items[k]})
	}
	fmt.Fprintf(w, "\nItems\n%s", table(rows))
	return nil
}

// hclKey quotes a key that is not an HCL identifier.
func hclKey(k string) string {
	for i, r := range k {
		ok := r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || (i > 0 && (r == '-' || r >= '0' && r <= '9'))
		if !ok {
			return strconv.Quote(k)
		}
	}
	return k
}

// varGetCommand is `roam var get [-item key] [-out fmt] <path>`.
func (a *app) varGetCommand() *cobra.Command {
	var item, outFmt string
	cmd := &cobra.Command{
		Use:   "get <path>",
		Short: "Print a variable (or one item of it with -item)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := a.parseVarFormat(outFmt, varOutTable, varOutJSON, varOutHCL, varOutTable)
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			v, _, err := c.Variables().Read(args[0], nil)
			if err != nil {
				return fmt.Errorf("read variable %q: %w", args[0], err)
			}
			if item != "" {
				val, ok := v.Items[item]
				if !ok {
					return fmt.Errorf("variable %q has no item %q", args[0], item)
				}
				fmt.Fprintln(cmd.OutOrStdout(), val)
				return nil
			}
			return printVariable(cmd.OutOrStdout(), v, format)
		},
	}
	cmd.Flags().StringVar(&item, "item", "", "print only this item's value")
	cmd.Flags().StringVar(&outFmt, "out", "", "json, hcl or table")
	return cmd
}

// varListCommand is `roam var list [prefix]`.
func (a *app) varListCommand() *cobra.Command {
	var outFmt, filter string
	var quiet bool
	cmd := &cobra.Command{
		Use:   "list [<prefix>]",
		Short: "List variables (metadata only)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := a.parseVarFormat(outFmt, varOutTable, varOutJSON, varOutTable)
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			q := &api.QueryOptions{Filter: filter}
			if len(args) == 1 {
				q.Prefix = args[0]
			}
			list, _, err := c.Variables().List(q)
			if err != nil {
				return fmt.Errorf("list variables: %w", err)
			}
			w := cmd.OutOrStdout()
			switch {
			case quiet:
				for _, v := range list {
					fmt.Fprintln(w, v.Path)
				}
				return nil
			case format == varOutJSON:
				return printJSON(w, list)
			case len(list) == 0:
				fmt.Fprintln(w, "No variables found")
				return nil
			}
			rows := [][]string{{"Namespace", "Path", "Last Updated"}}
			for _, v := range list {
				rows = append(rows, []string{v.Namespace, v.Path, formatUnixNano(v.ModifyTime)})
			}
			fmt.Fprint(w, table(rows))
			return nil
		},
	}
	cmd.Flags().StringVar(&outFmt, "out", "", "json or table")
	cmd.Flags().StringVar(&filter, "filter", "", "filter expression on each variable's metadata")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only the paths")
	return cmd
}

// varPurgeCommand is `roam var purge [-check-index N] <path>`.
func (a *app) varPurgeCommand() *cobra.Command {
	var checkIndex uint64
	cmd := &cobra.Command{
		Use:   "purge <path>",
		Short: "Delete a variable",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var check *uint64
			if cmd.Flags().Changed("check-index") {
				check = &checkIndex
			}
			if _, err := c.Variables().Delete(args[0], check, nil); err != nil {
				return varWriteError("purge", args[0], err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Successfully purged variable %q!\n", args[0])
			return nil
		},
	}
	cmd.Flags().Uint64Var(&checkIndex, "check-index", 0, "delete only if the variable is at this modify index")
	return cmd
}
