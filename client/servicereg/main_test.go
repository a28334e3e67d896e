package servicereg_test

import (
	"os"
	"testing"

	"github.com/roam-sh/roam/drivers/executor/executortest"
	"github.com/roam-sh/roam/jobspec/sandbox/sandboxtest"
	"github.com/roam-sh/roam/template"
)

// TestMain lets the test binary act as the executor of the live agents'
// raw_exec tasks and as their job-file parser.
func TestMain(m *testing.M) {
	executortest.MaybeRun()
	sandboxtest.MaybeRun()
	template.MaybeRunChild() // agents render templates in children of this binary
	os.Exit(m.Run())
}
