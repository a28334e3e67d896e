package executortest

import (
	"os"
	"strings"
	"testing"
)

// SignalScript is a shell task that shows who a signal reached. Its main
// process handles SIGUSR1 and starts a child, then prints "main-ready"; the child
// prints "child-ready" once it handles its own signals. Signal it once both are
// printed (SignalReadyLines). On SIGUSR1 the main process prints "main got USR1",
// has the child say goodbye (SIGUSR2) and exits 4. The child prints "child
// got USR1" if a SIGUSR1 reaches it too, which `alloc signal` must not do
// (Nomad signals the main process only).
const SignalScript = `trap 'echo main got USR1; kill -USR2 $c; wait $c; exit 4' USR1
sh -c 'trap "echo child got USR1" USR1; trap "echo child bye; exit 0" USR2; echo child-ready; while :; do sleep 0.05; done' &
c=$!
echo main-ready
while :; do sleep 0.05; done`

// SignalReadyLines are the lines a SignalScript task prints before it may
// be signalled.
var SignalReadyLines = []string{"main-ready", "child-ready"}

// CheckSignalled fails t unless the stdout of a SignalScript task that
// exited shows the main process alone got SIGUSR1.
func CheckSignalled(t testing.TB, stdoutPath string) {
	t.Helper()
	b, err := os.ReadFile(stdoutPath)
	if err != nil {
		t.Fatal(err)
	}
	out := string(b)
	if !strings.Contains(out, "main got USR1") || !strings.Contains(out, "child bye") {
		t.Fatalf("the task did not log the signal it got: %q", out)
	}
	if strings.Contains(out, "child got USR1") {
		t.Fatalf("the signal reached the task's child, not only its main process: %q", out)
	}
}
