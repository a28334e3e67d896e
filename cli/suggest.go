package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// strictTree makes every command of the tree refuse what it does not know,
// with a "did you mean": a group command (`roam job`) given an unknown
// subcommand fails (cobra would print its help and exit 0), and an unknown
// flag names the closest flag the command has.
func strictTree(root *cobra.Command) {
	root.SetFlagErrorFunc(flagError)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.HasSubCommands() && !c.Runnable() {
			c.RunE = unknownSubcommand
		}
		c.SuggestionsMinimumDistance = 2
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// unknownSubcommand runs for a group command: no argument shows its help,
// anything else is an unknown subcommand.
func unknownSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return cmd.Help()
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
	}
	return fmt.Errorf("%s", msg)
}

// flagError adds the closest known flag to pflag's "unknown flag" errors.
func flagError(cmd *cobra.Command, err error) error {
	name, ok := unknownFlagName(err.Error())
	if !ok {
		return err
	}
	best, bestDist := "", 3 // suggest only close names
	visit := func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		if d := distance(name, f.Name); d < bestDist || (strings.HasPrefix(f.Name, name) && best == "") {
			best, bestDist = f.Name, d
		}
	}
	cmd.Flags().VisitAll(visit)
	cmd.InheritedFlags().VisitAll(visit)
	if best == "" {
		return err
	}
	return fmt.Errorf("%w\n\nDid you mean this?\n\t-%s", err, best)
}

// unknownFlagName reads the flag's name from pflag's "unknown flag: --x",
// or "unknown shorthand flag: 'x' in -xyz" (a mistyped long flag written
// with one dash, as Nomad's are).
func unknownFlagName(msg string) (string, bool) {
	if rest, ok := strings.CutPrefix(msg, "unknown flag: "); ok {
		return strings.TrimLeft(rest, "-"), true
	}
	if _, arg, ok := strings.Cut(msg, "' in -"); ok && strings.HasPrefix(msg, "unknown shorthand flag: ") {
		name, _, _ := strings.Cut(arg, "=")
		return name, true
	}
	return "", false
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
