// Package collectortest lets a test binary stand in for the roam binary as
// docker's log collector: a package whose tests run docker tasks calls
// MaybeRun from TestMain and passes Binary() to the driver.
package collectortest

import (
	"os"

	"github.com/roam-sh/roam/drivers/docker/collector"
	"github.com/roam-sh/roam/drivers/executor"
)

// envKey marks a re-executed test binary that must act as a collector.
const envKey = "ROAM_TEST_RUN_DOCKER_LOGGER"

// MaybeRun turns the process into a collector when it was started by
// Binary; otherwise it returns and the tests run. Call it first in TestMain.
func MaybeRun() {
	if os.Getenv(envKey) != "1" {
		return
	}
	// os.Args: <test binary> docker-logger <spec.json>
	os.Exit(collector.Main(os.Args[2:]))
}

// Binary re-executes the running test binary as a collector.
func Binary() executor.Binary {
	return executor.Binary{Path: os.Args[0], Args: []string{collector.SubcommandName}, Env: []string{envKey + "=1"}}
}
