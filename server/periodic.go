package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/roam-sh/roam/structs"
)

// The periodic launcher is a leader duty: while this server leads, it
// launches a child of every enabled periodic job each time one of the job's
// cron specs fires.
//
//	leadership gained ─▶ read periodic jobs (a watch on the store's periodic index)
//	                      │ each job: next = Next(last launch) from periodic_launch,
//	                      │           a launch missed while no server led runs now
//	                      ▼
//	   ┌──── wait: earliest next │ a periodic job added, changed or removed │ leadership lost
//	   │        │
//	   │        ▼ launch: prohibit_overlap and a child still pending or running → skip;
//	   │          else one Raft entry: child job + its evaluation + the launch time
//	   └────────┘
//
// The schedule lives only in memory; what survives a leader change is each
// job's last launch, written in the same entry as the child it launched, so
// a new leader neither repeats a launch nor loses one.

// periodicTracked is one job's place in the schedule.
type periodicTracked struct {
	job  *structs.Job
	next time.Time // zero: no spec fires again
}

// periodicLauncher holds the schedule of the jobs it tracks.
type periodicLauncher struct {
	srv    *Server
	logger *slog.Logger
	now    func() time.Time
	jobs   map[structs.NamespacedID]*periodicTracked
}

// runPeriodicLauncher is the leader loop (see above).
func (s *Server) runPeriodicLauncher(ctx context.Context) {
	l := &periodicLauncher{srv: s, logger: s.logger.With("component", "periodic"), now: time.Now,
		jobs: map[structs.NamespacedID]*periodicTracked{}}
	for {
		ws := memdb.NewWatchSet()
		jobs, err := s.state.PeriodicJobs(ws)
		if err != nil {
			l.logger.Error("read periodic jobs", "error", err)
		}
		l.sync(jobs)
		timer := time.NewTimer(l.untilNext())
		changed := ws.WatchCh(ctx)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-changed:
		case <-timer.C:
			l.launchDue(ctx)
		}
		timer.Stop()
	}
}

// maxPeriodicWait bounds a wait with nothing due, so that a clock jump is
// noticed.
const maxPeriodicWait = time.Minute

func (l *periodicLauncher) untilNext() time.Duration {
	wait := maxPeriodicWait
	now := l.now()
	for _, t := range l.jobs {
		if !t.next.IsZero() {
			wait = min(wait, max(t.next.Sub(now), 0))
		}
	}
	return wait
}

// sync tracks the current periodic jobs: a new or changed job is scheduled,
// a removed or stopped one forgotten.
func (l *periodicLauncher) sync(jobs []*structs.Job) {
	seen := make(map[structs.NamespacedID]bool, len(jobs))
	for _, job := range jobs {
		if job.Stop {
			continue
		}
		id := job.NamespacedID()
		seen[id] = true
		cur := l.jobs[id]
		if cur != nil && cur.job.JobModifyIndex == job.JobModifyIndex {
			cur.job = job
			continue
		}
		l.jobs[id] = &periodicTracked{job: job, next: l.firstLaunch(job, cur == nil)}
	}
	for id := range l.jobs {
		if !seen[id] {
			delete(l.jobs, id)
		}
	}
}

// firstLaunch schedules a job the launcher did not track. A job it sees
// for the first time (a new leader, or a new job) resumes from its last
// launch: when a launch fell due while no server led, it runs now, once.
// A changed job starts over from now.
func (l *periodicLauncher) firstLaunch(job *structs.Job, resume bool) time.Time {
	now := l.now()
	if resume {
		last, err := l.srv.state.PeriodicLaunchByID(nil, job.Namespace, job.ID)
		if err != nil {
			l.logger.Error("read last launch", "job", job.ID, "error", err)
		}
		if last != nil {
			next, err := job.Periodic.Next(last.Launch)
			if err == nil && !next.IsZero() && !next.After(now) {
				l.logger.Info("launching a periodic job whose launch was missed", "job", job.ID, "namespace", job.Namespace, "due", next)
				return now
			}
		}
	}
	return l.nextAfter(job, now)
}

func (l *periodicLauncher) nextAfter(job *structs.Job, from time.Time) time.Time {
	next, err := job.Periodic.Next(from)
	if err != nil {
		l.logger.Error("periodic job has no next launch", "job", job.ID, "namespace", job.Namespace, "error", err)
		return time.Time{}
	}
	return next
}

// launchDue launches every job whose time came, and schedules its next.
func (l *periodicLauncher) launchDue(ctx context.Context) {
	now := l.now()
	for _, t := range l.jobs {
		if ctx.Err() != nil {
			return
		}
		if t.next.IsZero() || t.next.After(now) {
			continue
		}
		at := t.next
		t.next = l.nextAfter(t.job, now)
		if err := l.srv.launchScheduled(t.job, at); err != nil {
			l.logger.Error("launch periodic job", "job", t.job.ID, "namespace", t.job.Namespace, "error", err)
		}
	}
}

// errOverlap says a launch was skipped because of prohibit_overlap.
var errOverlap = errors.New("a previous child is still pending or running and the job prohibits overlap")

// launchScheduled launches a child for a scheduled time, unless the job
// prohibits overlap and a child is still pending or running.
func (s *Server) launchScheduled(job *structs.Job, at time.Time) error {
	if job.Periodic.ProhibitOverlap {
		running, err := s.childRunning(job)
		if err != nil {
			return err
		}
		if running != "" {
			s.logger.Info("skipping periodic launch", "job", job.ID, "namespace", job.Namespace, "running_child", running, "reason", errOverlap)
			return nil
		}
	}
	_, _, err := s.launchPeriodicChild(job, at)
	return err
}

// childRunning returns a child of job that is not dead yet, or "".
func (s *Server) childRunning(job *structs.Job) (string, error) {
	children, err := s.state.JobChildren(nil, job.Namespace, job.ID)
	if err != nil {
		return "", err
	}
	for _, c := range children {
		if c.Status != structs.JobStatusDead {
			return c.ID, nil
		}
	}
	return "", nil
}

// launchPeriodicChild commits the child launched at `at`, its evaluation and
// the launch time in one Raft entry.
func (s *Server) launchPeriodicChild(job *structs.Job, at time.Time) (*structs.Evaluation, uint64, error) {
	at = at.UTC().Round(0)
	child := job.PeriodicChild(at)
	child.SubmitTime = time.Now().UnixNano()
	var eval *structs.Evaluation
	// A periodic template that is also parameterized launches templates to
	// dispatch, not runs.
	if !child.IsParameterized() {
		eval = newEval(child.Namespace, child.ID, child.Type, child.Priority, structs.EvalTriggerPeriodicJob)
	}
	req := &structs.JobRegisterRequest{
		Job: child, Eval: eval,
		PeriodicLaunch: &structs.PeriodicLaunch{ID: job.ID, Namespace: job.Namespace, Launch: at},
		WriteRequest:   structs.WriteRequest{Namespace: job.Namespace},
	}
	_, index, err := s.raftApply(structs.JobRegisterRequestType, req)
	if err != nil {
		return nil, 0, fmt.Errorf("launch %q: %w", child.ID, err)
	}
	s.logger.Info("launched periodic job", "job", job.ID, "namespace", job.Namespace, "child", child.ID)
	return eval, index, nil
}

// periodicEndpoint serves the Periodic.* RPCs.
type periodicEndpoint struct{ srv *Server }

// Force launches a periodic job's child now, whatever its schedule and
// prohibit_overlap say (Nomad's `job periodic force`).
func (p *periodicEndpoint) Force(args *structs.PeriodicForceRequest, reply *structs.PeriodicForceResponse) error {
	if done, err := p.srv.forward(structs.MethodPeriodicForce, false, args, reply); done {
		return err
	}
	ns := namespaceOf(args.Namespace)
	job, err := (&jobEndpoint{srv: p.srv}).existingJob(ns, args.JobID)
	if err != nil {
		return err
	}
	if !job.IsPeriodic() {
		return badRequest("job %q is not periodic", job.ID)
	}
	if job.Stop {
		return badRequest("periodic job %q is stopped", job.ID)
	}
	eval, index, err := p.srv.launchPeriodicChild(job, time.Now())
	if err != nil {
		return err
	}
	reply.Index = index
	if eval != nil {
		reply.EvalID, reply.EvalCreateIndex = eval.ID, index
	}
	return nil
}
