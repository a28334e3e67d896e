package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/roam-sh/roam/api"
)

// nextLaunchRow is the status line of a periodic job's next launch.
func nextLaunchRow(j *api.Job, now time.Time) [][2]string {
	if !j.IsPeriodic() || j.IsParameterized() {
		return nil
	}
	next := "none (job stopped)"
	if !j.Stop {
		next = "none"
		if t, err := j.Periodic.Next(now); err == nil && !t.IsZero() {
			next = fmt.Sprintf("%s (%s from now)", t.Format(time.RFC3339), t.Sub(now).Round(time.Second))
		}
	}
	return [][2]string{{"Next Periodic Launch", next}}
}

// writeTemplateStatus is the part of `job status` that a periodic or
// parameterized job shows instead of allocations, as Nomad's status does:
// its dispatch parameters, its children's summary and
// the children themselves.
func writeTemplateStatus(w io.Writer, v *jobStatusView) {
	j := v.Job
	title := "Children Job Summary"
	if j.IsParameterized() {
		pj := j.ParameterizedJob
		fmt.Fprintf(w, "\nParameterized Job\n%s", kv([][2]string{
			{"Payload", pj.Payload},
			{"Required Metadata", strings.Join(pj.MetaRequired, ", ")},
			{"Optional Metadata", strings.Join(pj.MetaOptional, ", ")},
		}))
		title = "Parameterized Job Summary"
	}
	if s := v.Summary; s != nil && s.Children != nil {
		c := s.Children
		fmt.Fprintf(w, "\n%s\n%s", title, table([][]string{{"Pending", "Running", "Dead"},
			{fmt.Sprint(c.Pending), fmt.Sprint(c.Running), fmt.Sprint(c.Dead)}}))
	}
	writeChildren(w, j, v.Children)
}

// writeChildren lists the children of a periodic or parameterized job
// (`job status <parent>`), as Nomad's status does.
func writeChildren(w io.Writer, parent *api.Job, kids []*api.JobListStub) {
	title, none := "Dispatched Jobs", "No dispatched instances of parameterized job found"
	if parent.IsPeriodic() {
		title, none = "Previously Launched Jobs", "No instances of periodic job found"
	}
	if len(kids) == 0 {
		fmt.Fprintf(w, "\n%s\n", none)
		return
	}
	rows := [][]string{{"ID", "Status"}}
	for _, k := range kids {
		rows = append(rows, []string{k.ID, string(k.Status)})
	}
	fmt.Fprintf(w, "\n%s\n%s", title, table(rows))
}
