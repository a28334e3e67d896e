package ui_test

import (
	"os"
	"testing"

	"github.com/roam-sh/roam/drivers/executor/executortest"
	"github.com/roam-sh/roam/jobspec/sandbox/sandboxtest"
	"github.com/roam-sh/roam/template"
)

// The browser tests run a live agent whose tasks' executors and job-file
// parser are this test binary re-executed.
func TestMain(m *testing.M) {
	executortest.MaybeRun()
	sandboxtest.MaybeRun()
	template.MaybeRunChild() // agents render templates in children of this binary
	os.Exit(m.Run())
}
