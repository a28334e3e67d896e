package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/roam-sh/roam/api"
)

// nodeCommand is `roam node`.
func (a *app) nodeCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "node", Short: "Inspect and manage client nodes"}
	cmd.AddCommand(a.nodeStatusCommand(), a.nodeDrainCommand(), a.nodeEligibilityCommand(), a.nodePoolCommand())
	return cmd
}

// nodeTarget resolves the node a command acts on: -self (the node of the
// agent the CLI talks to) or an ID prefix.
func nodeTarget(c *api.Client, w io.Writer, args []string, self bool) (string, error) {
	switch {
	case self && len(args) > 0:
		return "", fmt.Errorf("give either -self or a node ID, not both")
	case self:
		return selfNodeID(c)
	case len(args) == 0:
		return "", fmt.Errorf("a node ID (or -self) is required")
	}
	return resolveNode(c, w, args[0])
}

// selfNodeID asks the agent for the ID of its own client node.
func selfNodeID(c *api.Client) (string, error) {
	self, err := c.Agent().Self()
	if err != nil {
		return "", fmt.Errorf("query the agent: %w", err)
	}
	id := self.Stats["client"]["node_id"]
	if id == "" {
		return "", fmt.Errorf("-self: the agent at %s does not run a client", c.Address())
	}
	return id, nil
}
