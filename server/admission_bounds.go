package server

import (
	"fmt"

	"github.com/roam-sh/roam/structs"
)

// JobLimits are upper bounds on a job's numeric fields, set where no real
// job comes near them: they keep sums over allocations (a node's memory, a
// group's disk) far from integer overflow and refuse values that can only
// be mistakes or attacks. A zero field takes DefaultJobLimits' value; a
// negative one removes that bound.
type JobLimits struct {
	// TaskCPU bounds a task's cpu in MHz.
	TaskCPU int
	// TaskCores bounds a task's cores.
	TaskCores int
	// TaskMemoryMB bounds a task's memory and memory_max.
	TaskMemoryMB int
	// DiskMB bounds a group's ephemeral_disk size and a task's logs
	// (max_files × max_file_size).
	DiskMB int
	// GroupCount bounds a group's count. Unbounded by default, as in Nomad:
	// the scheduler places a large count over several evaluations (see
	// scheduler.Config.MaxPlacementsPerEval) instead of refusing it.
	GroupCount int
}

// DefaultJobLimits are a million times what large machines offer today.
func DefaultJobLimits() JobLimits {
	return JobLimits{TaskCPU: 1 << 30, TaskCores: 1 << 20, TaskMemoryMB: 1 << 30, DiskMB: 1 << 30, GroupCount: -1}
}

func (l JobLimits) withDefaults() JobLimits {
	d := DefaultJobLimits()
	for _, f := range []struct{ v, d *int }{
		{&l.TaskCPU, &d.TaskCPU}, {&l.TaskCores, &d.TaskCores}, {&l.TaskMemoryMB, &d.TaskMemoryMB},
		{&l.DiskMB, &d.DiskMB}, {&l.GroupCount, &d.GroupCount},
	} {
		if *f.v == 0 {
			*f.v = *f.d
		}
	}
	return l
}

// jobBoundsValidator refuses numeric fields beyond the JobLimits, naming
// the field's path.
type jobBoundsValidator struct{ limits JobLimits }

func (jobBoundsValidator) Name() string { return "bounds" }

func (v jobBoundsValidator) Validate(job *structs.Job, _ AdmissionScope) ([]string, error) {
	l := v.limits.withDefaults()
	var problems []string
	over := func(path, what string, val, limit int) {
		if limit >= 0 && val > limit {
			problems = append(problems, fmt.Sprintf("%s: %s %d is above the limit of %d", path, what, val, limit))
		}
	}
	for _, tg := range job.TaskGroups {
		if tg == nil {
			continue
		}
		g := fmt.Sprintf("group %q", tg.Name)
		over(g, "count", tg.Count, l.GroupCount)
		if tg.EphemeralDisk != nil {
			over(g, "ephemeral_disk size (MB)", tg.EphemeralDisk.SizeMB, l.DiskMB)
		}
		for _, t := range tg.Tasks {
			if t == nil {
				continue
			}
			p := fmt.Sprintf("%s, task %q", g, t.Name)
			if r := t.Resources; r != nil {
				over(p, "cpu (MHz)", r.CPU, l.TaskCPU)
				over(p, "cores", r.Cores, l.TaskCores)
				over(p, "memory (MB)", r.MemoryMB, l.TaskMemoryMB)
				over(p, "memory_max (MB)", r.MemoryMaxMB, l.TaskMemoryMB)
			}
			if lc := t.LogConfig; lc != nil {
				over(p, "logs max_files", lc.MaxFiles, l.DiskMB)
				over(p, "logs max_file_size (MB)", lc.MaxFileSizeMB, l.DiskMB)
			}
		}
	}
	if len(problems) > 0 {
		return nil, &structs.ValidationError{Problems: problems}
	}
	return nil, nil
}
