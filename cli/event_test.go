package cli_test

import (
	"context"
	"strings"
	"testing"

	"github.com/roam-sh/roam/cli"
	"github.com/roam-sh/roam/internal/apitest"
	"github.com/roam-sh/roam/testutil"
)

// `roam event stream -topic Job:<id>` prints the job's registration as it
// happens, and nothing of other jobs.
func TestEventStreamCommand(t *testing.T) {
	c := apitest.Start(t)
	c.RegisterNode(t)
	var out, errb testutil.SyncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		opts := cli.Options{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
			Getenv: func(k string) string { return map[string]string{"ROAM_ADDR": c.URL}[k] }}
		done <- cli.Run(ctx, cli.NewRootCommand(opts), []string{"event", "stream", "-topic", "Job:ev-cli"})
	}()
	mustRoam(t, c, 0, "job", "run", "-detach", writeJob(t, "other.hcl", jobHCL("ev-other", 1, "")))
	mustRoam(t, c, 0, "job", "run", "-detach", writeJob(t, "ev.hcl", jobHCL("ev-cli", 1, "")))
	testutil.WaitFor(t, apitest.Wait, func() error {
		if !strings.Contains(out.String(), "JobRegistered") {
			return errString("no JobRegistered line yet: " + out.String() + errb.String())
		}
		return nil
	})
	if strings.Contains(out.String(), "ev-other") {
		t.Fatalf("stream of Job:ev-cli printed another job:\n%s", out.String())
	}
	cancel()
	<-done
	bad := roam(t, c, "event", "stream", "-topic", "Jobz")
	if bad.code == 0 || !strings.Contains(bad.stderr, "unknown event topic") {
		t.Fatalf("unknown topic: %s", bad)
	}
}

type errString string

func (e errString) Error() string { return string(e) }
