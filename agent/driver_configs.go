package agent

import (
	"github.com/roam-sh/roam/drivers/docker"
	"github.com/roam-sh/roam/drivers/exec"
	"github.com/roam-sh/roam/drivers/java"
	"github.com/roam-sh/roam/drivers/rawexec"
)

// driverConfigs are the task config checks of the drivers compiled into
// roam, by driver name. The servers run them at job admission, so `job
// validate` and `job run` refuse a config its driver would refuse at start;
// a server-only agent has them too, as they need no node.
type driverConfigs map[string]func(map[string]any) error

func builtinDriverConfigs() driverConfigs {
	return driverConfigs{
		rawexec.Name: rawexec.ValidateTaskConfig,
		exec.Name:    exec.ValidateTaskConfig,
		java.Name:    java.ValidateTaskConfig,
		docker.Name:  docker.ValidateTaskConfig,
	}
}

// CheckDriverConfig implements server.DriverConfigChecker.
func (d driverConfigs) CheckDriverConfig(driver string, config map[string]any) (bool, error) {
	check, ok := d[driver]
	if !ok {
		return false, nil
	}
	return true, check(config)
}
