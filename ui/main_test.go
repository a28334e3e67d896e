package ui_test

import (
	"os"
	"testing"

	"github.com/roam-sh/roam/drivers/executor/executortest"
	"github.com/roam-sh/roam/jobspec/sandbox/sandboxtest"
)

// The browser tests run a live agent whose tasks' executors and job-file
// parser are this test binary re-executed.
func TestMain(m *testing.M) {
	executortest.MaybeRun()
	sandboxtest.MaybeRun()
	os.Exit(m.Run())
}
