// Package artifacttest lets a test binary stand in for the roam binary as
// the artifact fetcher: a package whose tests fetch artifacts calls MaybeRun
// from TestMain and puts Binary() in its artifact.Config.
package artifacttest

import (
	"os"

	"github.com/roam-sh/roam/client/artifact"
)

// envKey marks a re-executed test binary that must act as the fetcher.
const envKey = "ROAM_TEST_RUN_ARTIFACT_FETCHER"

// MaybeRun turns the process into the fetcher when it was started by
// Binary; otherwise it returns and the tests run. Call it first in TestMain.
func MaybeRun() {
	if os.Getenv(envKey) != "1" {
		return
	}
	// os.Args: <test binary> artifact-fetch
	os.Exit(artifact.Main(os.Args[2:]))
}

// Binary re-executes the running test binary as the fetcher.
func Binary() artifact.Binary {
	return artifact.Binary{Path: os.Args[0], Args: []string{artifact.SubcommandName}, Env: []string{envKey + "=1"}}
}
