package cli

import (
	"github.com/spf13/cobra"

	"github.com/roam-sh/roam/api"
)

// Shell completion of IDs. cobra provides the `roam completion <shell>`
// command; these functions let the scripts it generates complete the first
// argument of commands that take a job, allocation or node by asking the
// agent for IDs with the typed prefix.

type completeFunc func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective)

// completeIDs builds a completion function from a lister of IDs.
func (a *app) completeIDs(list func(c *api.Client, prefix string) ([]string, error)) completeFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		c, err := a.client()
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		ids, err := list(c, toComplete)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		return ids, cobra.ShellCompDirectiveNoFileComp
	}
}

func (a *app) completeJobs() completeFunc {
	return a.completeIDs(func(c *api.Client, prefix string) ([]string, error) {
		jobs, _, err := c.Jobs().List(&api.QueryOptions{Prefix: prefix})
		ids := make([]string, len(jobs))
		for i, j := range jobs {
			ids[i] = j.ID
		}
		return ids, err
	})
}

func (a *app) completeAllocs() completeFunc {
	return a.completeIDs(func(c *api.Client, prefix string) ([]string, error) {
		allocs, _, err := c.Allocations().List(&api.QueryOptions{Prefix: prefix})
		ids := make([]string, len(allocs))
		for i, al := range allocs {
			ids[i] = al.ID
		}
		return ids, err
	})
}

func (a *app) completeNodes() completeFunc {
	return a.completeIDs(func(c *api.Client, prefix string) ([]string, error) {
		nodes, _, err := c.Nodes().List(&api.QueryOptions{Prefix: prefix})
		ids := make([]string, len(nodes))
		for i, n := range nodes {
			ids[i] = n.ID
		}
		return ids, err
	})
}
