package agent

import (
	"os"
	"testing"

	"github.com/roam-sh/roam/drivers/executor/executortest"
)

// TestMain lets the test binary act as the executor of the tasks that
// in-process agents start.
func TestMain(m *testing.M) {
	executortest.MaybeRun()
	os.Exit(m.Run())
}
