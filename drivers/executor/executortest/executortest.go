// Package executortest lets a test binary stand in for the roam binary as an
// executor: a package whose tests start tasks calls MaybeRun from TestMain and
// passes Binary() to its drivers.
package executortest

import (
	"os"

	"github.com/roam-sh/roam/drivers/executor"
)

// envKey marks a re-executed test binary that must act as an executor.
const envKey = "ROAM_TEST_RUN_EXECUTOR"

// MaybeRun turns the process into an executor when it was started by Binary;
// otherwise it returns and the tests run. Call it first thing in TestMain.
func MaybeRun() {
	if os.Getenv(envKey) != "1" {
		return
	}
	// os.Args: <test binary> executor <spec.json>
	os.Exit(executor.Main(os.Args[2:]))
}

// Binary re-executes the running test binary as an executor.
func Binary() executor.Binary {
	return executor.Binary{
		Path: os.Args[0],
		Args: []string{executor.SubcommandName},
		Env:  []string{envKey + "=1"},
	}
}
