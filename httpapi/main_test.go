package httpapi_test

import (
	"os"
	"testing"

	"github.com/roam-sh/roam/jobspec/sandbox/sandboxtest"
)

// TestMain lets the test binary act as the job-file parser child that the
// live agents of these tests start for /v1/jobs/parse.
func TestMain(m *testing.M) {
	sandboxtest.MaybeRun()
	os.Exit(m.Run())
}
