package cli

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/spf13/cobra"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/structs"
)

// intentionCommand is `roam intention`: which service may call which, as
// Consul's `consul intention`. Services are "name" or "namespace/name";
// "*" matches any.
func (a *app) intentionCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "intention", Short: "Allow or deny mesh connections between services"}
	cmd.AddCommand(a.intentionCreateCommand(), a.intentionDeleteCommand(), a.intentionListCommand(),
		a.intentionGetCommand(), a.intentionCheckCommand())
	return cmd
}

// splitSvc parses "name" or "ns/name".
func splitSvc(s string) (ns, name string) {
	if n, rest, ok := strings.Cut(s, "/"); ok {
		return n, rest
	}
	return "", s
}

// intentionCreateCommand is `roam intention create [-allow|-deny] [-replace] SRC DST`.
func (a *app) intentionCreateCommand() *cobra.Command {
	var allow, deny, replace bool
	var description string
	cmd := &cobra.Command{
		Use:   "create [-allow|-deny] [-replace] <source> <destination>",
		Short: "Allow (default) or deny connections from source to destination",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if allow && deny {
				return errors.New("-allow and -deny are mutually exclusive")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			in := &api.Intention{Action: structs.IntentionActionAllow, Description: description}
			if deny {
				in.Action = structs.IntentionActionDeny
			}
			in.SourceNS, in.SourceName = splitSvc(args[0])
			in.DestinationNS, in.DestinationName = splitSvc(args[1])
			old, err := lookupIntention(c, args[0], args[1])
			if err != nil {
				return err
			}
			if old != nil {
				if !replace {
					return fmt.Errorf("an intention from %s to %s exists already (ID %s); use -replace to replace it", args[0], args[1], old.ID)
				}
				if _, err := c.Connect().IntentionUpdate(old.ID, in, nil); err != nil {
					return fmt.Errorf("replace intention: %w", err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Intention updated: %s\n", intentionLine(in))
				return nil
			}
			if _, _, err := c.Connect().IntentionCreate(in, nil); err != nil {
				return fmt.Errorf("create intention: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Intention created: %s\n", intentionLine(in))
			return nil
		},
	}
	cmd.Flags().BoolVar(&allow, "allow", false, "allow the connections (the default)")
	cmd.Flags().BoolVar(&deny, "deny", false, "deny the connections")
	cmd.Flags().BoolVar(&replace, "replace", false, "replace an intention of the same pair")
	cmd.Flags().StringVar(&description, "description", "", "what the intention is for")
	return cmd
}

// intentionLine is how create, replace and delete name an intention, in one
// shape so that a user sees the same pair each time: "ns/src => ns/dst
// (action)", a namespace left out counting as "default" as the servers store it.
func intentionLine(in *api.Intention) string {
	ns := func(n string) string {
		if n == "" {
			return "default"
		}
		return n
	}
	return fmt.Sprintf("%s/%s => %s/%s (%s)", ns(in.SourceNS), in.SourceName, ns(in.DestinationNS), in.DestinationName, in.Action)
}

// lookupIntention returns the pair's intention, or nil.
func lookupIntention(c *api.Client, src, dst string) (*api.Intention, error) {
	in, _, err := c.Connect().IntentionExact(src, dst, nil)
	var se *api.StatusError
	if errors.As(err, &se) && se.Code == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read intention %s => %s: %w", src, dst, err)
	}
	return in, nil
}

// intentionByArgs finds an intention by ID (one argument) or by pair.
func intentionByArgs(c *api.Client, args []string) (*api.Intention, error) {
	if len(args) == 2 {
		in, err := lookupIntention(c, args[0], args[1])
		if err == nil && in == nil {
			err = fmt.Errorf("no intention from %s to %s", args[0], args[1])
		}
		return in, err
	}
	list, _, err := c.Connect().Intentions(nil)
	if err != nil {
		return nil, fmt.Errorf("list intentions: %w", err)
	}
	for _, in := range list {
		if in.ID == args[0] {
			return in, nil
		}
	}
	return nil, fmt.Errorf("no intention with ID %s", args[0])
}

// intentionDeleteCommand is `roam intention delete (SRC DST | ID)`.
func (a *app) intentionDeleteCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "delete (<source> <destination> | <id>)",
		Short: "Delete an intention",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			in, err := intentionByArgs(c, args)
			if err != nil {
				return err
			}
			if _, err := c.Connect().IntentionDelete(in.ID, nil); err != nil {
				return fmt.Errorf("delete intention: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Intention deleted: %s\n", intentionLine(in))
			return nil
		},
	}
}

// intentionListCommand is `roam intention list`.
func (a *app) intentionListCommand() *cobra.Command {
	var out *outputFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List intentions in the order they are evaluated",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			list, _, err := c.Connect().Intentions(nil)
			if err != nil {
				return fmt.Errorf("list intentions: %w", err)
			}
			if out.wanted() {
				return out.print(cmd.OutOrStdout(), list)
			}
			rows := [][]string{{"ID", "Source", "Action", "Destination", "Precedence"}}
			for _, in := range list {
				rows = append(rows, []string{in.ID, svcName(in.SourceNS, in.SourceName), string(in.Action),
					svcName(in.DestinationNS, in.DestinationName), fmt.Sprint(in.Precedence)})
			}
			fmt.Fprint(cmd.OutOrStdout(), table(rows))
			return nil
		},
	}
	out = addOutputFlags(cmd)
	return cmd
}

// svcName shows a service as Consul's CLI does: the name alone in the
// default namespace.
func svcName(ns, name string) string {
	if ns == "" || ns == structs.DefaultNamespace {
		return name
	}
	return ns + "/" + name
}

// intentionGetCommand is `roam intention get (SRC DST | ID)`.
func (a *app) intentionGetCommand() *cobra.Command {
	var out *outputFlags
	cmd := &cobra.Command{
		Use:   "get (<source> <destination> | <id>)",
		Short: "Show one intention",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			in, err := intentionByArgs(c, args)
			if err != nil {
				return err
			}
			if out.wanted() {
				return out.print(cmd.OutOrStdout(), in)
			}
			fmt.Fprint(cmd.OutOrStdout(), table([][]string{
				{"Source:", svcName(in.SourceNS, in.SourceName)},
				{"Destination:", svcName(in.DestinationNS, in.DestinationName)},
				{"Action:", string(in.Action)},
				{"ID:", in.ID},
				{"Precedence:", fmt.Sprint(in.Precedence)},
				{"Description:", in.Description},
			}))
			return nil
		},
	}
	out = addOutputFlags(cmd)
	return cmd
}

// intentionCheckCommand is `roam intention check SRC DST`: exit 0 when
// allowed, 2 when denied (Consul's codes).
func (a *app) intentionCheckCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "check <source> <destination>",
		Short: "Say whether source may connect to destination",
		Long:  "Exit code 0: allowed; 2: denied; 1: error.",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			res, _, err := c.Connect().IntentionCheck(args[0], args[1], nil)
			if err != nil {
				return fmt.Errorf("check intention: %w", err)
			}
			if res.Allowed {
				fmt.Fprintln(cmd.OutOrStdout(), "Allowed")
				return nil
			}
			fmt.Fprintln(cmd.OutOrStdout(), "Denied")
			return &ExitError{Code: 2}
		},
	}
}
