package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/roam-sh/roam/api"
)

// exitDeploymentFailed: the deployment the command followed failed or was
// cancelled (Nomad's `job run` exits 1 then too).
const exitDeploymentFailed = 1

// followDeployment follows a deployment until it ends, printing a line
// whenever its progress changes:
//
//	==> <time>: Monitoring deployment "<id8>"
//	    <time>: Deployment "<id8>" running: web 1/3 placed, 1 healthy
//	==> <time>: Deployment "<id8>" successful
//
// then the deployment's table. It returns exitOK when the deployment
// succeeded and exitDeploymentFailed when it failed or was cancelled.
func (m *monitor) followDeployment(ctx context.Context, id string) (int, error) {
	m.headline("Monitoring deployment %q", m.id(id))
	var index uint64
	last, hinted := "", false
	for {
		d, qm, err := m.c.Deployments().Info(id, &api.QueryOptions{WaitIndex: index, WaitTime: m.poll, Ctx: ctx})
		if err != nil {
			if ctx.Err() != nil {
				return 1, fmt.Errorf("monitoring deployment %q interrupted: %w", m.id(id), ctx.Err())
			}
			return 1, fmt.Errorf("read deployment %q: %w", m.id(id), err)
		}
		if line := deploymentProgress(d, m.id(id)); line != last {
			m.info("%s", line)
			last = line
		}
		if !hinted && needsPromotion(d) {
			// Otherwise the command just waits, up to the progress
			// deadline, for something the operator has to do.
			m.info("Deployment %q waits for its canaries to be promoted: run `roam job promote %s` (or `roam deployment promote %s`); Ctrl-C stops following and leaves the deployment as it is", m.id(id), d.JobID, m.id(id))
			hinted = true
		}
		if d.Status.Terminal() {
			code := m.deploymentEnded(d)
			if code != exitOK && strings.Contains(d.StatusDescription, rollbackMarker) {
				// The servers reverted the job; follow the roll-back too, as
				// Nomad's monitor does. The command still failed: exit 1.
				if err := m.followRollback(ctx, d); err != nil {
					return code, err
				}
			}
			return code, nil
		}
		index = qm.LastIndex
	}
}

// rollbackMarker is in a failed deployment's description when auto_revert
// registered the stable version again.
const rollbackMarker = "- rolling back to job version"

// followRollback waits for the deployment of the reverted version (the
// job's latest deployment once it is not failed's) and follows it.
func (m *monitor) followRollback(ctx context.Context, failed *api.Deployment) error {
	var index uint64
	for {
		d, qm, err := m.c.Jobs().LatestDeployment(failed.JobID, &api.QueryOptions{Namespace: failed.Namespace, WaitIndex: index, WaitTime: m.poll, Ctx: ctx})
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("waiting for the roll-back of job %q interrupted: %w", failed.JobID, ctx.Err())
			}
			return fmt.Errorf("read latest deployment of job %q: %w", failed.JobID, err)
		}
		if d != nil && d.ID != failed.ID {
			_, err := m.followDeployment(ctx, d.ID)
			return err
		}
		if qm.LastIndex == index {
			// The revert made no deployment (nothing to roll out): done.
			return nil
		}
		index = qm.LastIndex
	}
}

// deploymentEnded prints how a deployment ended and its table.
func (m *monitor) deploymentEnded(d *api.Deployment) int {
	code := exitOK
	switch d.Status {
	case "successful":
		m.headline("Deployment %q successful", m.id(d.ID))
	default:
		m.headline("Deployment %q %s: %s", m.id(d.ID), d.Status, d.StatusDescription)
		code = exitDeploymentFailed
	}
	fmt.Fprintln(m.w)
	fmt.Fprint(m.w, indent(formatDeployment(d, m.verbose), "    "))
	return code
}

// deploymentProgress is one line saying where a deployment is.
func deploymentProgress(d *api.Deployment, id string) string {
	var parts []string
	for _, name := range sortedGroupNames(d) {
		g := d.TaskGroups[name]
		p := fmt.Sprintf("%s %d/%d placed, %d healthy", name, g.PlacedAllocs, g.DesiredTotal, g.HealthyAllocs)
		if g.UnhealthyAllocs > 0 {
			p += fmt.Sprintf(", %d unhealthy", g.UnhealthyAllocs)
		}
		if g.DesiredCanaries > 0 {
			p += fmt.Sprintf(", %d/%d canaries", len(g.PlacedCanaries), g.DesiredCanaries)
			if g.Promoted {
				p += " promoted"
			}
		}
		parts = append(parts, p)
	}
	return fmt.Sprintf("Deployment %q %s: %s (%s)", id, d.Status, strings.Join(parts, "; "), d.StatusDescription)
}

// formatDeployment renders a deployment as `deployment status` prints it.
func formatDeployment(d *api.Deployment, verbose bool) string {
	var b strings.Builder
	b.WriteString(kv([][2]string{
		{"ID", shortID(d.ID, verbose)}, {"Job ID", d.JobID}, {"Job Version", fmt.Sprint(d.JobVersion)},
		{"Status", string(d.Status)}, {"Description", d.StatusDescription},
	}))
	canaries, autoPromote := false, false
	for _, g := range d.TaskGroups {
		canaries = canaries || g.DesiredCanaries > 0
		autoPromote = autoPromote || g.AutoPromote
	}
	head := []string{"Task Group", "Auto Revert"}
	if autoPromote {
		head = append(head, "Auto Promote")
	}
	if canaries {
		head = append(head, "Promoted")
	}
	head = append(head, "Desired")
	if canaries {
		head = append(head, "Canaries")
	}
	rows := [][]string{append(head, "Placed", "Healthy", "Unhealthy", "Progress Deadline")}
	for _, name := range sortedGroupNames(d) {
		g := d.TaskGroups[name]
		row := []string{name, fmt.Sprint(g.AutoRevert)}
		if autoPromote {
			row = append(row, fmt.Sprint(g.AutoPromote))
		}
		if canaries {
			row = append(row, fmt.Sprint(g.Promoted))
		}
		row = append(row, fmt.Sprint(g.DesiredTotal))
		if canaries {
			row = append(row, fmt.Sprint(g.DesiredCanaries))
		}
		row = append(row, fmt.Sprint(g.PlacedAllocs), fmt.Sprint(g.HealthyAllocs), fmt.Sprint(g.UnhealthyAllocs), progressDeadline(g))
		rows = append(rows, row)
	}
	b.WriteString("\nDeployed\n")
	b.WriteString(table(rows))
	return b.String()
}

func progressDeadline(g *api.DeploymentState) string {
	if g.ProgressDeadline == 0 || g.RequireProgressBy.IsZero() {
		return "N/A"
	}
	return formatTime(g.RequireProgressBy)
}

func sortedGroupNames(d *api.Deployment) []string {
	names := make([]string, 0, len(d.TaskGroups))
	for n := range d.TaskGroups {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func indent(s, prefix string) string {
	lines := strings.SplitAfter(s, "\n")
	var b strings.Builder
	for _, l := range lines {
		if l == "" {
			continue
		}
		if l != "\n" {
			b.WriteString(prefix)
		}
		b.WriteString(l)
	}
	return b.String()
}

// followEvalDeployment follows the deployment the monitored evaluation
// rolled out, if any: it is how `job run`, `job revert` and the deployment
// commands wait for a roll-out. The deployment's outcome decides the exit
// code (a placement the evaluation could not make may be made later in
// the roll-out).
func (m *monitor) followEvalDeployment(ctx context.Context, code int) (int, error) {
	if m.deploymentID == "" {
		return code, nil
	}
	return m.followDeployment(ctx, m.deploymentID)
}

// needsPromotion reports a running deployment whose canaries are all placed
// and healthy in some group that is not promoted yet: only an operator (or
// auto_promote) moves it on.
func needsPromotion(d *api.Deployment) bool {
	if d.Status != "running" {
		return false
	}
	for _, g := range d.TaskGroups {
		if g.DesiredCanaries > 0 && !g.Promoted && !g.AutoPromote && g.HealthyAllocs >= g.DesiredCanaries {
			return true
		}
	}
	return false
}
