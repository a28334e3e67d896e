package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/roam-sh/roam/api"
)

// Prefix resolution. Every command that takes an ID accepts any unique
// prefix of it. A prefix that matches several objects prints the matches
// and ends the command with exit code 1; an exact match always wins.

// resolveJob returns the ID of the job whose ID is or starts with prefix.
func resolveJob(c *api.Client, w io.Writer, prefix string) (string, error) {
	jobs, _, err := c.Jobs().List(&api.QueryOptions{Prefix: prefix})
	if err != nil {
		return "", fmt.Errorf("list jobs: %w", err)
	}
	ids := make([]string, len(jobs))
	for i, j := range jobs {
		ids[i] = j.ID
	}
	return pick(w, "job", prefix, ids, func() string {
		rows := [][]string{{"ID", "Type", "Priority", "Status"}}
		for _, j := range jobs {
			rows = append(rows, []string{j.ID, string(j.Type), fmt.Sprint(j.Priority), string(j.Status)})
		}
		return table(rows)
	})
}

// resolveAlloc returns the full ID of the allocation matching prefix.
func resolveAlloc(c *api.Client, w io.Writer, prefix string) (string, error) {
	allocs, _, err := c.Allocations().List(&api.QueryOptions{Prefix: prefix})
	if err != nil {
		return "", fmt.Errorf("list allocations: %w", err)
	}
	ids := make([]string, len(allocs))
	for i, a := range allocs {
		ids[i] = a.ID
	}
	return pick(w, "allocation", prefix, ids, func() string {
		rows := [][]string{{"ID", "Eval ID", "Job ID", "Task Group", "Desired", "Status"}}
		for _, a := range allocs {
			rows = append(rows, []string{shortID(a.ID, false), shortID(a.EvalID, false), a.JobID, a.TaskGroup, string(a.DesiredStatus), string(a.ClientStatus)})
		}
		return table(rows)
	})
}

// resolveEval returns the full ID of the evaluation matching prefix.
func resolveEval(c *api.Client, w io.Writer, prefix string) (string, error) {
	evals, _, err := c.Evaluations().List(&api.QueryOptions{Prefix: prefix})
	if err != nil {
		return "", fmt.Errorf("list evaluations: %w", err)
	}
	ids := make([]string, len(evals))
	for i, e := range evals {
		ids[i] = e.ID
	}
	return pick(w, "evaluation", prefix, ids, func() string {
		rows := [][]string{{"ID", "Priority", "Triggered By", "Job ID", "Status"}}
		for _, e := range evals {
			rows = append(rows, []string{shortID(e.ID, false), fmt.Sprint(e.Priority), string(e.TriggeredBy), e.JobID, string(e.Status)})
		}
		return table(rows)
	})
}

// resolveNode returns the full ID of the node matching prefix.
func resolveNode(c *api.Client, w io.Writer, prefix string) (string, error) {
	nodes, _, err := c.Nodes().List(&api.QueryOptions{Prefix: prefix})
	if err != nil {
		return "", fmt.Errorf("list nodes: %w", err)
	}
	ids := make([]string, len(nodes))
	for i, n := range nodes {
		ids[i] = n.ID
	}
	return pick(w, "node", prefix, ids, func() string { return nodeTable(nodes, false) })
}

// pick chooses among the IDs a prefix matched. On ambiguity it writes the
// listing to w and returns an *ExitError with code 1.
func pick(w io.Writer, kind, prefix string, ids []string, listing func() string) (string, error) {
	if prefix == "" {
		return "", fmt.Errorf("%s ID must not be empty", kind)
	}
	var matches []string
	for _, id := range ids {
		if id == prefix {
			return id, nil
		}
		if strings.HasPrefix(id, prefix) {
			matches = append(matches, id)
		}
	}
	switch len(matches) {
	case 0:
		return "", &ExitError{Code: 1, Msg: fmt.Sprintf("no %s with prefix %q found", kind, prefix)}
	case 1:
		return matches[0], nil
	}
	fmt.Fprintf(w, "Prefix %q matches multiple %ss:\n\n%s", prefix, kind, listing())
	return "", &ExitError{Code: 1}
}
