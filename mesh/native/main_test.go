package native_test

import (
	"os"
	"testing"

	"github.com/roam-sh/roam/drivers/executor/executortest"
	"github.com/roam-sh/roam/jobspec/sandbox/sandboxtest"
)

// TestMain lets the test binary act as the executor and job parser of the
// in-process agent's tasks (TestAgainstARoamAgent).
func TestMain(m *testing.M) {
	executortest.MaybeRun()
	sandboxtest.MaybeRun()
	os.Exit(m.Run())
}
