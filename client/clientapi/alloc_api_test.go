package clientapi_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	nomadapi "github.com/hashicorp/nomad/api"

	"github.com/roam-sh/roam/agent"
	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/drivers/exec/exectest"
	"github.com/roam-sh/roam/internal/apitest"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

const serviceJob = `
job "svc" {
  datacenters = ["dc1"]
  group "g" {
    task "web" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "trap 'echo got USR1' USR1; echo started; while :; do sleep 0.05; done"]
      }
      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
`

func taskEvents(t *testing.T, c *api.Client, allocID string) []string {
	t.Helper()
	al, _, err := c.Allocations().Info(allocID, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range al.TaskStates["web"].Events {
		out = append(out, e.Type)
	}
	return out
}

func waitEvents(t *testing.T, c *api.Client, allocID string, want []string) {
	t.Helper()
	testutil.WaitFor(t, apitest.Wait, func() error {
		got := taskEvents(t, c, allocID)
		if len(got) < len(want) || !slices.Equal(got[len(got)-len(want):], want) {
			return fmt.Errorf("events %v, want them to end with %v", got, want)
		}
		return nil
	})
}

func stdout(la *apitest.LiveAgent, allocID string, idx int) string {
	b, _ := os.ReadFile(filepath.Join(la.DataDir, "alloc", allocID, "alloc/logs", fmt.Sprintf("web.stdout.%d", idx)))
	return string(b)
}

func TestSignalRestartAndStats(t *testing.T) {
	la := apitest.StartLiveAgent(t, nil)
	c := la.Client(t)
	al := la.RunJob(t, serviceJob, structs.TaskStateRunning)

	if err := c.Allocations().Signal(al.ID, "web", "SIGUSR1", nil); err != nil {
		t.Fatal(err)
	}
	waitEvents(t, c, al.ID, []string{structs.TaskSignaling})
	testutil.WaitFor(t, apitest.Wait, func() error {
		if !strings.Contains(stdout(la, al.ID, 0), "got USR1") {
			return fmt.Errorf("stdout %q", stdout(la, al.ID, 0))
		}
		return nil
	})
	if err := c.Allocations().Signal(al.ID, "web", "SIGNOPE", nil); api.StatusCode(err) != 400 {
		t.Fatalf("bad signal: %v", err)
	}

	u, err := c.Allocations().Stats(al.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	web := u.Tasks["web"]
	if web == nil || web.ResourceUsage.MemoryStats.RSS == 0 || u.ResourceUsage.MemoryStats.RSS != web.ResourceUsage.MemoryStats.RSS || u.Timestamp == 0 || len(web.Pids) == 0 {
		t.Fatalf("stats %+v", u)
	}
	// The raw shape is Nomad's: Nomad's Go client decodes it.
	nc := nomadClient(t, la)
	nu, err := nc.Allocations().Stats(&nomadapi.Allocation{ID: al.ID, NodeID: al.NodeID}, nil)
	if err != nil || nu.Tasks["web"].ResourceUsage.MemoryStats.RSS == 0 || !slices.Contains(nu.ResourceUsage.MemoryStats.Measured, "RSS") {
		t.Fatalf("nomad client stats %+v %v", nu, err)
	}

	// Nomad's client reads the log frames and the file listing too.
	frames, errs := nc.AllocFS().Logs(&nomadapi.Allocation{ID: al.ID, NodeID: al.NodeID}, false, "web", "stdout", "start", 0, nil, nil)
	var logged strings.Builder
	for f := range frames {
		logged.Write(f.Data)
	}
	select {
	case err := <-errs:
		t.Fatalf("nomad client logs: %v", err)
	default:
	}
	if !strings.HasPrefix(logged.String(), "started\n") {
		t.Fatalf("nomad client logs %q", logged.String())
	}
	if files, _, err := nc.AllocFS().List(&nomadapi.Allocation{ID: al.ID, NodeID: al.NodeID}, "alloc/logs", nil); err != nil || len(files) != 2 {
		t.Fatalf("nomad client ls %+v %v", files, err)
	}

	if err := c.Allocations().Restart(al.ID, "web", false, nil); err != nil {
		t.Fatal(err)
	}
	waitEvents(t, c, al.ID, []string{structs.TaskRestartSignal, structs.TaskTerminated, structs.TaskRestarting, structs.TaskStarted})
	testutil.WaitFor(t, apitest.Wait, func() error {
		if !strings.Contains(stdout(la, al.ID, 1), "started") {
			return fmt.Errorf("restarted task's log %q", stdout(la, al.ID, 1))
		}
		return nil
	})
	if err := c.Allocations().Restart(al.ID, "nope", false, nil); api.StatusCode(err) != 400 {
		t.Fatalf("restart of an unknown task: %v", err)
	}
}

func nomadClient(t *testing.T, la *apitest.LiveAgent) *nomadapi.Client {
	t.Helper()
	cfg := nomadapi.DefaultConfig()
	cfg.Address = la.URL
	nc, err := nomadapi.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return nc
}

func TestExecWebsocket(t *testing.T) {
	la := apitest.StartLiveAgent(t, nil)
	c := la.Client(t)
	al := la.RunJob(t, serviceJob, structs.TaskStateRunning)
	var out, errOut strings.Builder
	code, err := c.Allocations().Exec(t.Context(), al.ID, &api.ExecOptions{
		Task: "web", Command: []string{"/bin/sh", "-c", `echo "in $NOMAD_TASK_NAME at $(pwd)"; echo oops >&2; read x; echo "got $x"; exit 3`},
		Stdin: strings.NewReader("typed\n"), Stdout: &out, Stderr: &errOut,
	}, nil)
	taskDir := filepath.Join(la.DataDir, "alloc", al.ID, "web")
	if err != nil || code != 3 || out.String() != "in web at "+taskDir+"\ngot typed\n" || errOut.String() != "oops\n" {
		t.Fatalf("exec: code %d err %v stdout %q stderr %q", code, err, out.String(), errOut.String())
	}
	// A terminal: one output stream, with the size the client asked for.
	resize := make(chan api.TerminalSize, 1)
	resize <- api.TerminalSize{Height: 33, Width: 99}
	out.Reset()
	code, err = c.Allocations().Exec(t.Context(), al.ID, &api.ExecOptions{
		Task: "web", Command: []string{"/bin/sh", "-c", `while [ "$(stty size)" != "33 99" ]; do sleep 0.01; done; tty; stty size`}, Tty: true, Stdout: &out, Resize: resize,
	}, nil)
	if err != nil || code != 0 || !strings.Contains(out.String(), "/dev/pts/") || !strings.Contains(out.String(), "33 99") {
		t.Fatalf("tty exec: %d %v %q", code, err, out.String())
	}
	// Nomad's own client speaks the same frames.
	nc := nomadClient(t, la)
	var nout strings.Builder
	ncode, err := nc.Allocations().Exec(context.Background(), &nomadapi.Allocation{ID: al.ID, NodeID: al.NodeID}, "web", false,
		[]string{"/bin/sh", "-c", "echo from-nomad-client; exit 7"}, strings.NewReader(""), &nout, &nout, nil, nil)
	if err != nil || ncode != 7 || nout.String() != "from-nomad-client\n" {
		t.Fatalf("nomad client exec: %d %v %q", ncode, err, nout.String())
	}
	// Errors before the upgrade are plain HTTP errors.
	for q, want := range map[string]int{
		"task=web&command=notjson":           http.StatusBadRequest,
		"task=nope&command=" + `["true"]`:    http.StatusBadRequest,
		"task=web&command=" + `["true"]&x=1`: http.StatusBadRequest, // not a websocket
	} {
		resp, err := http.Get(la.URL + "/v1/client/allocation/" + al.ID + "/exec?" + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("exec?%s: %d, want %d", q, resp.StatusCode, want)
		}
	}
	// An exec into a stopped task fails with the error as close text.
	if _, _, err := c.Jobs().Deregister("svc", false, nil); err != nil {
		t.Fatal(err)
	}
	la.WaitAlloc(t, "svc", func(a *api.Allocation) error {
		if a.ClientStatus != structs.AllocClientStatusComplete {
			return fmt.Errorf("alloc %s", a.ClientStatus)
		}
		return nil
	})
	_, err = c.Allocations().Exec(t.Context(), al.ID, &api.ExecOptions{Task: "web", Command: []string{"true"}}, nil)
	if err == nil || !strings.Contains(err.Error(), "not running") {
		t.Fatalf("exec into a dead task: %v", err)
	}
}

// TestExecInIsolatedTask: `alloc exec` into an exec-driver task runs inside
// its root and namespaces. It runs where the exec driver can isolate tasks.
func TestExecInIsolatedTask(t *testing.T) {
	host := exectest.RequireIsolation(t)
	parent := exectest.CgroupParent(t, host)
	la := apitest.StartLiveAgent(t, func(cfg *agent.Config) { cfg.Client.CgroupParent = parent })
	c := la.Client(t)
	al := la.RunJob(t, `
job "iso" {
  datacenters = ["dc1"]
  group "g" {
    task "web" {
      driver = "exec"
      kill_timeout = "1s"
      config {
        command = "/bin/sh"
        args    = ["-c", "echo inside > /local/marker; exec sleep 300"]
      }
      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}`, structs.TaskStateRunning)
	// Running means the shell started, not that it has written the marker
	// yet: wait for the marker, then run the real command.
	testutil.WaitFor(t, 10*time.Second, func() error {
		var out strings.Builder
		code, err := c.Allocations().Exec(t.Context(), al.ID, &api.ExecOptions{
			Task: "web", Command: []string{"/bin/cat", "/local/marker"}, Stdout: &out, Stderr: &out,
		}, nil)
		if err != nil || code != 0 {
			return fmt.Errorf("marker not written yet: %d %v %q", code, err, out.String())
		}
		return nil
	})
	var out strings.Builder
	code, err := c.Allocations().Exec(t.Context(), al.ID, &api.ExecOptions{
		Task: "web", Command: []string{"/bin/sh", "-c", `cat /local/marker; pwd; ls /proc | grep -c '^[0-9]'; test -e ` + la.DataDir + ` && echo host-visible; exit 0`},
		Stdout: &out, Stderr: &out,
	}, nil)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if err != nil || code != 0 || len(lines) != 3 || lines[0] != "inside" || lines[1] != "/" {
		t.Fatalf("exec in isolated task: %d %v %q", code, err, out.String())
	}
	var n int
	if _, err := fmt.Sscan(lines[2], &n); err != nil || n > 6 {
		t.Fatalf("exec sees %q processes: not in the task's pid namespace", lines[2])
	}
}

// One exec frame declaring more than the session's cap closes the session
// ("message too big") instead of being buffered whole in the agent.
func TestSecurityBoundsExecFrame(t *testing.T) {
	la := apitest.StartLiveAgent(t, nil)
	al := la.RunJob(t, serviceJob, structs.TaskStateRunning)
	u := "ws" + strings.TrimPrefix(la.URL, "http") + "/v1/client/allocation/" + al.ID + `/exec?task=web&command=["/bin/cat"]`
	conn, resp, err := websocket.DefaultDialer.DialContext(t.Context(), u, nil)
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	defer conn.Close()
	// Twice the cap (maxExecFrame), as one frame.
	big := `{"stdin":{"data":"` + strings.Repeat("A", 2<<20) + `"}}`
	if err := conn.WriteMessage(websocket.TextMessage, []byte(big)); err != nil {
		t.Fatalf("write: %v", err)
	}
	for {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
				t.Fatalf("session ended with %v, want close %d (message too big)", err, websocket.CloseMessageTooBig)
			}
			return
		}
		if strings.Contains(string(msg), "stdout") {
			t.Fatalf("an oversized frame reached the command: %.80s", msg)
		}
	}
}
