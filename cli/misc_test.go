package cli_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/internal/apitest"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

func TestNodeCommands(t *testing.T) {
	c := apitest.Start(t)
	n1 := c.RegisterNode(t)
	c.RegisterNode(t)
	r := mustRoam(t, c, 0, "node", "status")
	assertContains(t, r, "ID        Node Pool  DC   Name", "Eligibility  Status", n1.ID[:8], "ready")
	assertJSON(t, mustRoam(t, c, 0, "node", "status", "-json"), '[')

	r = mustRoam(t, c, 0, "node", "status", "-verbose", n1.ID[:6])
	assertContains(t, r, "ID          = "+n1.ID, "Name        = "+n1.Name, "Attributes", "kernel.name", "= linux")
	assertJSON(t, mustRoam(t, c, 0, "node", "status", "-json", n1.ID[:6]), '{')

	assertContains(t, mustRoam(t, c, 0, "node", "eligibility", "-disable", n1.ID[:8]), "ineligible for scheduling")
	if n, _ := c.Server.State().NodeByID(nil, n1.ID); n.SchedulingEligibility != structs.NodeSchedulingIneligible {
		t.Errorf("eligibility %q after -disable", n.SchedulingEligibility)
	}
	mustRoam(t, c, 0, "node", "eligibility", "-enable", n1.ID)
	mustRoam(t, c, 1, "node", "eligibility", n1.ID)

	assertContains(t, mustRoam(t, c, 1, "node", "drain", "-enable", n1.ID), "Are you sure", "Canceling")
	assertContains(t, mustRoam(t, c, 0, "node", "drain", "-enable", "-yes", "-detach", "-deadline", "10m", n1.ID), "drain strategy set")
	if n, _ := c.Server.State().NodeByID(nil, n1.ID); n.DrainStrategy == nil && n.LastDrain == nil {
		t.Errorf("node not draining after node drain -enable")
	}
	assertContains(t, mustRoam(t, c, 0, "node", "drain", "-disable", "-yes", n1.ID), "drain strategy unset")
	testutil.WaitFor(t, apitest.Wait, func() error {
		n, _ := c.Server.State().NodeByID(nil, n1.ID)
		if n.DrainStrategy != nil || n.SchedulingEligibility != structs.NodeSchedulingEligible {
			return errorString("node still draining or ineligible")
		}
		return nil
	})
	mustRoam(t, c, 1, "node", "status", "-self")
}

// reportRunning reports the allocation running, as its client would.
func reportRunning(t *testing.T, c *apitest.Cluster, allocID, nodeID string) {
	t.Helper()
	now := time.Now()
	events := []*structs.TaskEvent{
		{Type: structs.TaskReceived, Time: now.Add(-2 * time.Second).UnixNano()},
		{Type: structs.TaskStarted, Time: now.UnixNano()},
	}
	update := &structs.Allocation{ID: allocID, NodeID: nodeID, ClientStatus: structs.AllocClientStatusRunning,
		TaskStates: map[string]*structs.TaskState{"server": {State: structs.TaskStateRunning, StartedAt: now, Events: events}}}
	var reply structs.GenericResponse
	if err := c.Server.RPC(structs.MethodNodeUpdateAlloc, &structs.AllocUpdateRequest{Alloc: []*structs.Allocation{update}, WriteRequest: nodeWrite(t, c, nodeID)}, &reply); err != nil {
		t.Fatalf("report allocation running: %v", err)
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }

func TestAllocAndEvalCommands(t *testing.T) {
	c := apitest.Start(t)
	c.RegisterNode(t)
	ports := `network {
      port "http" { to = 8080 }
      port "admin" { static = 7001 }
    }`
	mustRoam(t, c, 0, "job", "run", writeJob(t, "web.nomad", jobHCL("web", 1, ports)))
	cl := c.Client(t)
	allocs, _, err := cl.Allocations().List(nil)
	if err != nil || len(allocs) != 1 {
		t.Fatalf("allocations: %v %d", err, len(allocs))
	}
	id := allocs[0].ID
	r := mustRoam(t, c, 0, "alloc", "status", id[:5])
	assertContains(t, r, "ID                  = "+id, "Job ID              = web", `Task "server" is "pending"`)
	full, _, err := cl.Allocations().Info(id, nil)
	if err != nil {
		t.Fatal(err)
	}
	http, _ := full.AllocatedResources.Shared.Ports.Get("http")
	assertContains(t, r, `Allocation Addresses (mode = "host"):`, "Label  Dynamic  Address",
		fmt.Sprintf("http   true     %s:%d -> 8080", http.HostIP, http.Value), "admin  false    "+http.HostIP+":7001")

	reportRunning(t, c, allocs[0].ID, allocs[0].NodeID)
	r = mustRoam(t, c, 0, "alloc", "status", id[:5])
	assertContains(t, r, "Client Status       = running", `Task "server" is "running"`, "Recent Events:",
		"Time                  Type      Description", "Started   Task started by client", "Received  Task received by client")
	assertJSON(t, mustRoam(t, c, 0, "alloc", "status", "-json", id[:5]), '{')
	assertContains(t, mustRoam(t, c, 0, "alloc", "status", "-t", "{{.JobID}}", id), "web")
	mustRoam(t, c, 1, "alloc", "status", "ffffffff-no")

	evalID := allocs[0].EvalID
	r = mustRoam(t, c, 0, "eval", "status", evalID[:6])
	assertContains(t, r, "Status             = complete", "TriggeredBy        = job-register", "Placement Failures = false")
	assertJSON(t, mustRoam(t, c, 0, "eval", "status", "-json", evalID), '{')
	r = mustRoam(t, c, 0, "eval", "list")
	assertContains(t, r, "ID        Priority  Triggered By  Job ID  Namespace  Node ID  Status    Placement Failures",
		evalID[:8], "job-register", "web", "complete")
	assertContains(t, mustRoam(t, c, 0, "eval", "list", "-job", "nope"), "No evals found")
	assertJSON(t, mustRoam(t, c, 0, "eval", "list", "-json"), '[')

	r = mustRoam(t, c, 0, "alloc", "stop", id[:8])
	assertContains(t, r, `Monitoring evaluation "`, `finished with status "complete"`)
	a, _, err := cl.Allocations().Info(id, nil)
	if err != nil || a.DesiredStatus != structs.AllocDesiredStatusStop {
		t.Errorf("allocation after stop: %v %+v", err, a)
	}
}

func TestServerMembersAndVersion(t *testing.T) {
	c := apitest.Start(t)
	r := mustRoam(t, c, 0, "server", "members")
	assertContains(t, r, "Name", "Address", "Leader", "test.global", "true", "alive")
	assertJSON(t, mustRoam(t, c, 0, "server", "members", "-json"), '{')
	assertContains(t, runCLI(t, nil, "version"), "roam v")
	r = runCLI(t, nil, "completion", "bash")
	if r.code != 0 || !strings.Contains(r.stdout, "bash completion") {
		t.Errorf("completion bash:\n%s", r)
	}
}

func TestAddressPrecedence(t *testing.T) {
	c := apitest.Start(t)
	const dead = "http://127.0.0.1:1"
	cases := []struct {
		name string
		env  map[string]string
		args []string
		code int
	}{
		{"ROAM_ADDR", map[string]string{"ROAM_ADDR": c.URL}, nil, 0},
		{"NOMAD_ADDR", map[string]string{"NOMAD_ADDR": c.URL}, nil, 0},
		{"ROAM_ADDR wins over NOMAD_ADDR", map[string]string{"ROAM_ADDR": c.URL, "NOMAD_ADDR": dead}, nil, 0},
		{"ROAM_ADDR wins even when wrong", map[string]string{"ROAM_ADDR": dead, "NOMAD_ADDR": c.URL}, nil, 1},
		{"flag wins over both", map[string]string{"ROAM_ADDR": dead, "NOMAD_ADDR": dead}, []string{"-address", c.URL}, 0},
		{"flag with equals", map[string]string{"ROAM_ADDR": dead}, []string{"-address=" + c.URL}, 0},
		{"double-dash flag", map[string]string{}, []string{"--address", c.URL}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{}, tc.args...), "status")
			if r := runCLI(t, tc.env, args...); r.code != tc.code {
				t.Errorf("exit %d, want %d:\n%s", r.code, tc.code, r)
			}
		})
	}
	if got := api.AddressFromEnv(func(string) string { return "" }); got != api.DefaultAddress {
		t.Errorf("default address %q", got)
	}
}

func TestSingleDashFlags(t *testing.T) {
	c := apitest.Start(t)
	c.RegisterNode(t)
	path := writeJob(t, "web.nomad", jobHCL("web", 1, ""))
	r := mustRoam(t, c, 0, "job", "run", "-detach", path)
	assertContains(t, r, "Evaluation ID:")
	assertJSON(t, mustRoam(t, c, 0, "job", "status", "-json"), '[')
	r = mustRoam(t, c, 0, "job", "run", "-help")
	assertContains(t, r, "Usage:")
	mustRoam(t, c, 0, "job", "stop", "-purge", "-detach", "web")
	if jobs, _, _ := c.Client(t).Jobs().List(nil); len(jobs) != 0 {
		t.Errorf("-purge was not applied: %d jobs left", len(jobs))
	}
	// Arguments after "--" are never rewritten.
	r = roam(t, c, "job", "status", "--", "-json")
	if r.code == 0 {
		t.Errorf("job status -- -json was taken as a flag:\n%s", r)
	}
}

func TestNormalizeFlagsLeavesValuesAlone(t *testing.T) {
	c := apitest.Start(t)
	c.RegisterNode(t)
	// "-detach" as the value of -var must not become "--detach".
	src := "variable \"msg\" {\n  type = string\n}\n" + strings.Replace(jobHCL("web", 1, ""), `args    = ["600"]`, `args    = [var.msg]`, 1)
	path := writeJob(t, "web.nomad", src)
	r := mustRoam(t, c, 0, "job", "run", "-detach", "-var", "msg=-detach", path)
	assertContains(t, r, "Evaluation ID:")
	job, _, err := c.Client(t).Jobs().Info("web", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := job.TaskGroups[0].Tasks[0].Config["args"]; !reflect.DeepEqual(got, []any{"-detach"}) {
		t.Errorf("args = %#v, want [-detach]", got)
	}
}

// TestNodeDrainCompleteOnceAllocsStopped: `node drain -enable` (monitoring)
// says the drain is complete only once the node's client reports the
// drained allocation stopped, not when the servers are done marking it.
func TestNodeDrainCompleteOnceAllocsStopped(t *testing.T) {
	c := apitest.Start(t)
	n1 := c.RegisterNode(t)
	mustRoam(t, c, 0, "job", "run", "-detach", writeJob(t, "web.nomad", jobHCL("web", 1, "")))
	var allocID string
	testutil.WaitFor(t, apitest.Wait, func() error {
		allocs, _ := c.Server.State().AllocsByNode(nil, n1.ID)
		if len(allocs) != 1 {
			return errorString("allocation not placed yet")
		}
		allocID = allocs[0].ID
		return nil
	})
	reportRunning(t, c, allocID, n1.ID)
	done := make(chan result, 1)
	go func() { done <- roam(t, c, "node", "drain", "-enable", "-yes", "-deadline", "1s", n1.ID) }()
	// The servers mark and stop the allocation; its client has not stopped it.
	testutil.WaitFor(t, apitest.Wait, func() error {
		a, _ := c.Server.State().AllocByID(nil, allocID)
		if a.DesiredStatus != structs.AllocDesiredStatusStop {
			return errorString("allocation not stopped by the drain yet")
		}
		return nil
	})
	select {
	case r := <-done:
		t.Fatalf("node drain ended while the allocation still runs:\n%s", r)
	default:
	}
	stopped := &structs.Allocation{ID: allocID, NodeID: n1.ID, ClientStatus: structs.AllocClientStatusComplete,
		TaskStates: map[string]*structs.TaskState{"server": {State: structs.TaskStateDead}}}
	var reply structs.GenericResponse
	if err := c.Server.RPC(structs.MethodNodeUpdateAlloc, &structs.AllocUpdateRequest{Alloc: []*structs.Allocation{stopped}, WriteRequest: nodeWrite(t, c, n1.ID)}, &reply); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.code != 0 {
		t.Fatalf("node drain: %s", r)
	}
	assertContains(t, r, "has stopped (complete)", "All allocations on node", "Drain complete for node")
}

// nodeWrite authenticates a report about a node's allocations as that
// node's client does: with its SecretID.
func nodeWrite(t *testing.T, c *apitest.Cluster, nodeID string) structs.WriteRequest {
	t.Helper()
	n, err := c.Server.State().NodeByID(nil, nodeID)
	if err != nil || n == nil {
		t.Fatalf("node %s: %v %v", nodeID, n, err)
	}
	return structs.WriteRequest{AuthToken: n.SecretID}
}
