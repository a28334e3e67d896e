package cli

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/roam-sh/roam/api"
)

type jobStatusFlags struct {
	verbose  bool
	allAlloc bool
	evals    bool
	out      *outputFlags
}

// jobStatusCommand is `roam job status [job]`: without a job, the job list;
// with one, its summary, placement failures and allocations.
func (a *app) jobStatusCommand() *cobra.Command {
	f := &jobStatusFlags{}
	cmd := &cobra.Command{
		Use:               "status [flags] [job]",
		ValidArgsFunction: a.completeJobs(),
		Short:             "List jobs, or show one job's status",
		Args:              cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return a.jobList(cmd, f.out)
			}
			return a.jobStatus(cmd, args[0], f)
		},
	}
	cmd.Flags().BoolVar(&f.verbose, "verbose", false, "print full IDs")
	cmd.Flags().BoolVar(&f.allAlloc, "all-allocs", false, "include allocations of earlier jobs with the same ID")
	cmd.Flags().BoolVar(&f.evals, "evals", false, "list the job's evaluations")
	f.out = addOutputFlags(cmd)
	return cmd
}

// jobList prints the jobs table (also `roam status`).
func (a *app) jobList(cmd *cobra.Command, out *outputFlags) error {
	c, err := a.client()
	if err != nil {
		return err
	}
	jobs, _, err := c.Jobs().List(nil)
	if err != nil {
		return fmt.Errorf("list jobs: %w", err)
	}
	w := cmd.OutOrStdout()
	if out.wanted() {
		return out.print(w, jobs)
	}
	if len(jobs) == 0 {
		fmt.Fprintln(w, "No running jobs")
		return nil
	}
	sort.Slice(jobs, func(i, j int) bool { return jobs[i].ID < jobs[j].ID })
	rows := [][]string{{"ID", "Type", "Priority", "Status", "Submit Date"}}
	for _, j := range jobs {
		rows = append(rows, []string{j.ID, string(j.Type), fmt.Sprint(j.Priority), jobStatusString(j.Status, j.Stop), formatUnixNano(j.SubmitTime)})
	}
	fmt.Fprint(w, table(rows))
	return nil
}

func jobStatusString(status fmt.Stringer, stop bool) string {
	s := status.String()
	if stop && s != "dead" {
		return s + " (stopped)"
	}
	return s
}

// jobStatusView is what `job status <job>` shows, and its -json form.
type jobStatusView struct {
	Job         *api.Job
	Summary     *api.JobSummary
	Allocations []*api.AllocListStub
	Evaluations []*api.Evaluation
	// Children are the jobs a periodic or parameterized job launched.
	Children []*api.JobListStub `json:",omitempty"`
	// LatestDeployment is the job's most recent deployment, if it has one.
	LatestDeployment *api.Deployment `json:",omitempty"`
}

func (a *app) jobStatus(cmd *cobra.Command, prefix string, f *jobStatusFlags) error {
	c, err := a.client()
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	id, err := resolveJob(c, w, prefix)
	if err != nil {
		return err
	}
	v, err := loadJobStatus(c, id, f.allAlloc)
	if err != nil {
		return err
	}
	if f.out.wanted() {
		return f.out.print(w, v)
	}
	a.writeJobStatus(w, v, f)
	return nil
}

func loadJobStatus(c *api.Client, id string, all bool) (*jobStatusView, error) {
	job, _, err := c.Jobs().Info(id, nil)
	if err != nil {
		return nil, fmt.Errorf("read job %q: %w", id, err)
	}
	v := &jobStatusView{Job: job}
	if v.Summary, _, err = c.Jobs().Summary(id, nil); err != nil {
		return nil, fmt.Errorf("read summary of job %q: %w", id, err)
	}
	if v.Allocations, _, err = c.Jobs().Allocations(id, all, nil); err != nil {
		return nil, fmt.Errorf("list allocations of job %q: %w", id, err)
	}
	if v.Evaluations, _, err = c.Jobs().Evaluations(id, nil); err != nil {
		return nil, fmt.Errorf("list evaluations of job %q: %w", id, err)
	}
	if job.IsPeriodic() || job.IsParameterized() {
		if v.Children, err = c.Jobs().Children(job, nil); err != nil {
			return nil, fmt.Errorf("list children of job %q: %w", id, err)
		}
	}
	if v.LatestDeployment, _, err = c.Jobs().LatestDeployment(id, nil); err != nil {
		return nil, fmt.Errorf("read latest deployment of job %q: %w", id, err)
	}
	return v, nil
}

func (a *app) writeJobStatus(w io.Writer, v *jobStatusView, f *jobStatusFlags) {
	j := v.Job
	dcs := strings.Join(j.Datacenters, ",")
	fmt.Fprint(w, kv(append([][2]string{
		{"ID", j.ID}, {"Name", j.Name}, {"Submit Date", formatUnixNano(j.SubmitTime)},
		{"Type", string(j.Type)}, {"Priority", fmt.Sprint(j.Priority)}, {"Datacenters", orNone(dcs)},
		{"Namespace", j.Namespace}, {"Node Pool", orNone(j.NodePool)},
		{"Status", jobStatusString(j.Status, j.Stop)}, {"Periodic", fmt.Sprint(j.IsPeriodic())},
		{"Parameterized", fmt.Sprint(j.IsParameterized())},
	}, nextLaunchRow(j, a.opts.Now())...)))
	if j.IsPeriodic() || j.IsParameterized() {
		writeTemplateStatus(w, v)
		return
	}
	fmt.Fprintf(w, "\nSummary\n%s", summaryTable(v.Summary))
	if v.LatestDeployment != nil {
		fmt.Fprintf(w, "\nLatest Deployment\n%s", formatDeployment(v.LatestDeployment, f.verbose))
	}
	if failures := placementFailures(v.Evaluations); failures != "" {
		fmt.Fprintf(w, "\nPlacement Failure\n%s", failures)
	}
	if f.evals {
		fmt.Fprintf(w, "\nEvaluations\n%s", evalTable(v.Evaluations, f.verbose))
	}
	fmt.Fprintln(w, "\nAllocations")
	if len(v.Allocations) == 0 {
		fmt.Fprintln(w, "No allocations placed")
		return
	}
	fmt.Fprint(w, allocTable(v.Allocations, a.opts.Now(), f.verbose, true))
}

func summaryTable(s *api.JobSummary) string {
	rows := [][]string{{"Task Group", "Queued", "Starting", "Running", "Failed", "Complete", "Lost", "Unknown"}}
	if s != nil {
		for _, tg := range sortedKeys(s.Summary) {
			c := s.Summary[tg]
			rows = append(rows, []string{tg, fmt.Sprint(c.Queued), fmt.Sprint(c.Starting), fmt.Sprint(c.Running),
				fmt.Sprint(c.Failed), fmt.Sprint(c.Complete), fmt.Sprint(c.Lost), fmt.Sprint(c.Unknown)})
		}
	}
	return table(rows)
}

// placementFailures explains why the job's latest scheduling attempt could
// not place everything: the failures of a blocked evaluation still waiting
// for capacity, else those of the newest evaluation.
func placementFailures(evals []*api.Evaluation) string {
	var latest, blocked *api.Evaluation
	for _, e := range evals {
		if latest == nil || e.CreateIndex > latest.CreateIndex {
			latest = e
		}
		if e.Status == "blocked" && (blocked == nil || e.CreateIndex > blocked.CreateIndex) {
			blocked = e
		}
	}
	src := latest
	if blocked != nil {
		src = blocked
	}
	if src == nil || len(src.FailedTGAllocs) == 0 {
		return ""
	}
	return failedPlacements(src.FailedTGAllocs, "", "  ")
}

// allocTable lists allocations; withGroup adds the task group column.
func allocTable(allocs []*api.AllocListStub, now time.Time, verbose, withGroup bool) string {
	sort.Slice(allocs, func(i, j int) bool { return allocs[i].CreateIndex > allocs[j].CreateIndex })
	head := []string{"ID", "Node ID", "Task Group", "Version", "Desired", "Status", "Created", "Modified"}
	if !withGroup {
		head = []string{"ID", "Job ID", "Task Group", "Version", "Desired", "Status", "Created", "Modified"}
	}
	rows := [][]string{head}
	for _, a := range allocs {
		second := shortID(a.NodeID, verbose)
		if !withGroup {
			second = a.JobID
		}
		rows = append(rows, []string{shortID(a.ID, verbose), second, a.TaskGroup, fmt.Sprint(a.JobVersion),
			string(a.DesiredStatus), string(a.ClientStatus), ago(now, a.CreateTime), ago(now, a.ModifyTime)})
	}
	return table(rows)
}

func evalTable(evals []*api.Evaluation, verbose bool) string {
	rows := [][]string{{"ID", "Priority", "Triggered By", "Status", "Placement Failures"}}
	for _, e := range evals {
		rows = append(rows, []string{shortID(e.ID, verbose), fmt.Sprint(e.Priority), string(e.TriggeredBy),
			string(e.Status), fmt.Sprint(len(e.FailedTGAllocs) > 0)})
	}
	return table(rows)
}
