package server

import (
	"fmt"

	"github.com/roam-sh/roam/structs"
)

// DriverConfigChecker checks a task's driver config on the servers, before
// any node sees it. The agent supplies the drivers compiled into roam
// (Config.DriverConfigs); the server imports none.
type DriverConfigChecker interface {
	// CheckDriverConfig reports whether driver is one the checker knows
	// (whatever config is) and, if so, what is wrong with config (nil when
	// nothing is).
	CheckDriverConfig(driver string, config map[string]any) (known bool, err error)
}

// jobDriverConfigValidator refuses task driver configs their driver would
// refuse at start (unknown keys, wrong types, a missing command or image),
// so `job validate` and `job run` say so instead of a task failing on its
// node later. Tasks of drivers the checker does not know pass: a node may
// run a driver the servers know nothing of.
type jobDriverConfigValidator struct{ check DriverConfigChecker }

func (jobDriverConfigValidator) Name() string { return "driver config" }

func (v jobDriverConfigValidator) Validate(job *structs.Job, _ AdmissionScope) ([]string, error) {
	if v.check == nil {
		return nil, nil
	}
	var problems []string
	for _, tg := range job.TaskGroups {
		for _, t := range tg.Tasks {
			if t == nil {
				continue
			}
			known, err := v.check.CheckDriverConfig(t.Driver, t.Config)
			if !known || err == nil {
				continue
			}
			for _, e := range unjoin(err) {
				problems = append(problems, fmt.Sprintf("Task group %q: Task %q: %s config: %v", tg.Name, t.Name, t.Driver, e))
			}
		}
	}
	if len(problems) > 0 {
		return nil, &structs.ValidationError{Problems: problems}
	}
	return nil, nil
}

// driverConfigsChecked reports whether every task's driver config in job
// was checked: a checker is set and knows every driver named. `job
// validate` answers it as DriverConfigValidated.
func (v jobDriverConfigValidator) driverConfigsChecked(job *structs.Job) bool {
	if v.check == nil || job == nil {
		return false
	}
	for _, tg := range job.TaskGroups {
		for _, t := range tg.Tasks {
			if t == nil {
				continue
			}
			if known, _ := v.check.CheckDriverConfig(t.Driver, nil); !known {
				return false
			}
		}
	}
	return true
}

// unjoin lists the errors of an errors.Join, or err alone.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
