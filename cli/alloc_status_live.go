package cli

import (
	"bytes"
	"fmt"
	"io"
	"sort"

	"github.com/roam-sh/roam/api"
)

// What `alloc status` asks the allocation's client: resource usage of the
// running tasks, and with -log-lines the end of each task's logs. Both are
// best effort: a client that cannot be reached leaves them out.

// allocLive is what the client told about a running allocation.
type allocLive struct {
	usage *api.AllocResourceUsage
	stats bool
	logs  map[string]map[string][]byte // task → stdout/stderr → last lines
	lines int
}

func liveDetails(c *api.Client, al *api.Allocation, stats bool, lines int) *allocLive {
	x := &allocLive{stats: stats, lines: lines, logs: map[string]map[string][]byte{}}
	if al.ClientStatus == "running" {
		x.usage, _ = c.Allocations().Stats(al.ID, nil)
	}
	if lines <= 0 {
		return x
	}
	for _, task := range allocTasks(al) {
		x.logs[task] = map[string][]byte{}
		for _, typ := range []string{api.LogStderr, api.LogStdout} {
			open := func(o api.StreamOptions) (*api.FrameStream, error) {
				return c.AllocFS().Logs(al.ID, task, typ, o, nil)
			}
			if data, _, err := tailLines(open, lines); err == nil {
				x.logs[task][typ] = data
			}
		}
	}
	return x
}

func (x *allocLive) taskUsage(task string) *api.TaskResourceUsage {
	if x == nil || x.usage == nil {
		return nil
	}
	return x.usage.Tasks[task]
}

// writeTaskStats is -stats: memory and CPU of the task, per process too.
func writeTaskStats(w io.Writer, u *api.TaskResourceUsage) {
	if u == nil || u.ResourceUsage == nil {
		return
	}
	rows := [][]string{{"PID", "RSS", "CPU %", "CPU MHz"}}
	pids := make([]string, 0, len(u.Pids))
	for pid := range u.Pids {
		pids = append(pids, pid)
	}
	sort.Strings(pids)
	for _, pid := range pids {
		rows = append(rows, usageRow(pid, u.Pids[pid]))
	}
	rows = append(rows, usageRow("total", u.ResourceUsage))
	fmt.Fprintf(w, "\nTask Resource Usage:\n%s", table(rows))
}

func usageRow(name string, r *api.ResourceUsage) []string {
	row := []string{name, "-", "-", "-"}
	if r == nil {
		return row
	}
	if m := r.MemoryStats; m != nil {
		row[1] = humanBytes(m.RSS)
	}
	if c := r.CpuStats; c != nil {
		row[2], row[3] = fmt.Sprintf("%.1f", c.Percent), fmt.Sprintf("%.0f", c.TotalTicks)
	}
	return row
}

// writeLogs is -log-lines: the end of the task's stderr and stdout.
func (x *allocLive) writeLogs(w io.Writer, task string) {
	if x == nil || x.lines <= 0 {
		return
	}
	for _, typ := range []string{api.LogStderr, api.LogStdout} {
		data, ok := x.logs[task][typ]
		if !ok {
			continue
		}
		fmt.Fprintf(w, "\nRecent Log Lines (%s):\n", typ)
		if len(data) == 0 {
			fmt.Fprintln(w, "<none>")
			continue
		}
		w.Write(data)
		if !bytes.HasSuffix(data, []byte("\n")) {
			fmt.Fprintln(w)
		}
	}
}
