// Package sandboxtest lets a test binary stand in for the roam binary as a
// job-file parser child: a package whose tests parse through a sandbox
// calls MaybeRun from TestMain and uses Binary().
package sandboxtest

import (
	"os"

	"github.com/roam-sh/roam/jobspec/sandbox"
)

// envKey marks a re-executed test binary that must act as a parser child.
const envKey = "ROAM_TEST_RUN_PARSER"

// MaybeRun turns the process into a parser child when it was started by
// Binary, or with the subcommand's arguments as the roam binary would be
// (an in-process agent whose config names no parser binary re-executes
// itself, here the test binary); otherwise it returns and the tests run.
// Call it first in TestMain.
func MaybeRun() {
	args := sandbox.SubcommandArgs
	asRoam := len(os.Args) > len(args) && os.Args[1] == args[0] && os.Args[2] == args[1]
	if os.Getenv(envKey) != "1" && !asRoam {
		return
	}
	os.Exit(sandbox.Main())
}

// Binary re-executes the running test binary as a parser child.
func Binary() sandbox.Binary {
	return sandbox.Binary{Path: os.Args[0], Args: sandbox.SubcommandArgs, Env: []string{envKey + "=1"}}
}
