package agent

import (
	"log/slog"
	"os"
	"testing"

	"github.com/roam-sh/roam/drivers/executor/executortest"
	"github.com/roam-sh/roam/internal/stdlog"
	"github.com/roam-sh/roam/jobspec/sandbox/sandboxtest"
	"github.com/roam-sh/roam/template"
)

// TestMain lets the test binary act as the executor of the tasks that
// in-process agents start.
func TestMain(m *testing.M) {
	executortest.MaybeRun()
	sandboxtest.MaybeRun()
	template.MaybeRunChild() // agents render templates in children of this binary
	// consul-template (templates) logs each step through the standard
	// logger; keep warnings and errors only.
	stdlog.Redirect(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	os.Exit(m.Run())
}
