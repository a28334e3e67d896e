package server

import "github.com/roam-sh/roam/scheduler"

// withSchedulerDefaults fills the scheduler hooks from the scheduler package.
func (c Config) withSchedulerDefaults() Config {
	if c.Schedulers == nil {
		c.Schedulers = scheduler.BuiltinSchedulers
		if c.MaxPlacementsPerEval > 0 {
			c.Schedulers = scheduler.Factories(scheduler.Config{MaxPlacementsPerEval: c.MaxPlacementsPerEval})
		}
	}
	if c.AllocsFit == nil {
		c.AllocsFit = scheduler.AllocsFit
	}
	return c
}
