package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/roam-sh/roam/api"
)

// Helpers shared by the commands that reach into an allocation (logs, fs,
// exec, restart, signal): finding the allocation and the task.

// allocArg resolves the command's first argument: an allocation ID prefix,
// or with -job a job ID whose newest running allocation is taken.
func allocArg(c *api.Client, w io.Writer, arg string, byJob bool) (*api.Allocation, error) {
	id := ""
	if byJob {
		jobID, err := resolveJob(c, w, arg)
		if err != nil {
			return nil, err
		}
		if id, err = newestAlloc(c, jobID); err != nil {
			return nil, err
		}
	} else {
		var err error
		if id, err = resolveAlloc(c, w, arg); err != nil {
			return nil, err
		}
	}
	al, _, err := c.Allocations().Info(id, nil)
	if err != nil {
		return nil, fmt.Errorf("read allocation %q: %w", shortID(id, false), err)
	}
	return al, nil
}

// newestAlloc picks a job's allocation: the newest running one, else the
// newest of any status.
func newestAlloc(c *api.Client, jobID string) (string, error) {
	stubs, _, err := c.Jobs().Allocations(jobID, false, nil)
	if err != nil {
		return "", fmt.Errorf("list allocations of job %q: %w", jobID, err)
	}
	if len(stubs) == 0 {
		return "", fmt.Errorf("job %q has no allocations", jobID)
	}
	best := slices.MaxFunc(stubs, func(a, b *api.AllocListStub) int {
		ar, br := a.ClientStatus == "running", b.ClientStatus == "running"
		if ar != br {
			if ar {
				return 1
			}
			return -1
		}
		return int(a.CreateTime - b.CreateTime)
	})
	return best.ID, nil
}

// allocTasks lists the allocation's task names in the group's order.
func allocTasks(al *api.Allocation) []string {
	var names []string
	if tg := al.LookupTaskGroup(); tg != nil {
		for _, t := range tg.Tasks {
			names = append(names, t.Name)
		}
	}
	if len(names) == 0 {
		names = sortedKeys(al.TaskStates)
	}
	return names
}

// pickTask returns the named task (checked to exist) or, when none is
// named, the allocation's only task.
func pickTask(al *api.Allocation, name string) (string, error) {
	tasks := allocTasks(al)
	if name != "" {
		if !slices.Contains(tasks, name) {
			return "", fmt.Errorf("task %q not found in allocation %q (tasks: %s)", name, shortID(al.ID, false), strings.Join(tasks, ", "))
		}
		return name, nil
	}
	if len(tasks) == 1 {
		return tasks[0], nil
	}
	return "", fmt.Errorf("allocation %q has %d tasks; name one with -task or as an argument: %s",
		shortID(al.ID, false), len(tasks), strings.Join(tasks, ", "))
}

// taskArg merges the -task flag and the optional task argument.
func taskArg(flag string, args []string, at int) (string, error) {
	if len(args) > at {
		if flag != "" && flag != args[at] {
			return "", fmt.Errorf("task given twice: -task %q and argument %q", flag, args[at])
		}
		return args[at], nil
	}
	return flag, nil
}

// humanBytes prints a size the way `alloc fs` and `alloc status` do.
func humanBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// allocTarget is an allocation and, optionally, one of its tasks, named on
// the command line as `<alloc> [task]` or with -task.
type allocTarget struct {
	client *api.Client
	alloc  *api.Allocation
	// task is "" when none was named: every running task.
	task string
}

// resolveAllocTarget resolves `<alloc> [task]` (task also from -task),
// checking that a named task is one of the allocation's.
func (a *app) resolveAllocTarget(w io.Writer, args []string, taskFlag string) (*allocTarget, error) {
	c, err := a.client()
	if err != nil {
		return nil, err
	}
	al, err := allocArg(c, w, args[0], false)
	if err != nil {
		return nil, err
	}
	name, err := taskArg(taskFlag, args, 1)
	if err != nil {
		return nil, err
	}
	if name != "" {
		if name, err = pickTask(al, name); err != nil {
			return nil, err
		}
	}
	return &allocTarget{client: c, alloc: al, task: name}, nil
}

// what names the target's tasks in a message.
func (t *allocTarget) what() string {
	if t.task == "" {
		return "all running tasks"
	}
	return fmt.Sprintf("task %q", t.task)
}
