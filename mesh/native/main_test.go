package native_test

import (
	"os"
	"testing"

	"github.com/roam-sh/roam/drivers/executor/executortest"
	"github.com/roam-sh/roam/jobspec/sandbox/sandboxtest"
	"github.com/roam-sh/roam/template"
)

// TestMain lets the test binary act as the executor and job parser of the
// in-process agent's tasks (TestAgainstARoamAgent).
func TestMain(m *testing.M) {
	executortest.MaybeRun()
	sandboxtest.MaybeRun()
	template.MaybeRunChild() // agents render templates in children of this binary
	os.Exit(m.Run())
}
