package agent

import (
	"os"
	"testing"

	"github.com/roam-sh/roam/drivers/executor/executortest"
	"github.com/roam-sh/roam/jobspec/sandbox/sandboxtest"
)

// TestMain lets the test binary act as the executor of the tasks that
// in-process agents start.
func TestMain(m *testing.M) {
	executortest.MaybeRun()
	sandboxtest.MaybeRun()
	os.Exit(m.Run())
}
