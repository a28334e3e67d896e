package executor

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// SubcommandName is the hidden subcommand of the roam binary that runs an
// executor: cmd/roam must call Main(args-after-it) for `roam executor ...`.
const SubcommandName = "executor"

// Main runs an executor process and returns its exit code. args are the
// arguments after the subcommand: the path of the spec file.
//
// Its stdout is the handshake channel to the launching driver; its stderr is
// the executor's own log (the driver points it at executor.log).
func Main(args []string) int {
	if len(args) == 1 && args[0] == initArg {
		return runInit() // an isolated task's first process, not an executor
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("component", "executor")
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: roam executor <spec.json>")
		return 2
	}
	// The executor lives in its own session; none of these should end it.
	// They are caught, not ignored: an ignored signal stays ignored in the
	// task after exec, and the task must see SIGINT as its kill signal.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGHUP, syscall.SIGINT, syscall.SIGPIPE)

	spec, err := readSpec(args[0])
	if err != nil {
		logger.Error("cannot start", "error", err)
		sendHandshake(handshake{Error: err.Error()})
		return 1
	}
	logger = logger.With("socket", spec.Socket)
	sup, err := startSupervisor(spec, logger)
	if err != nil {
		logger.Error("cannot start task", "error", err)
		sendHandshake(handshake{Error: err.Error()})
		return 1
	}
	sendHandshake(handshake{TaskPID: sup.pid, TaskStart: sup.start, StartedAt: sup.startedAt})
	sup.run()
	return 0
}

// sendHandshake writes the one line the driver waits for and closes stdout, so
// nothing the executor does later can block on (or die writing to) a pipe
// whose reader, the client, may be gone.
func sendHandshake(h handshake) {
	_, _ = os.Stdout.Write(encodeLine(h))
	_ = os.Stdout.Close()
}
