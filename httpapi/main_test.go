package httpapi_test

import (
	"os"
	"testing"

	"github.com/roam-sh/roam/jobspec/sandbox/sandboxtest"
	"github.com/roam-sh/roam/template"
)

// TestMain lets the test binary act as the job-file parser child that the
// live agents of these tests start for /v1/jobs/parse.
func TestMain(m *testing.M) {
	sandboxtest.MaybeRun()
	template.MaybeRunChild() // agents render templates in children of this binary
	os.Exit(m.Run())
}
