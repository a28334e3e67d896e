package servicereg

import (
	"slices"
	"strings"
	"testing"

	"github.com/roam-sh/roam/structs"
)

func testAlloc(canary bool) *structs.Allocation {
	a := &structs.Allocation{ID: "a1", Namespace: "default", NodeID: "n1", JobID: "j", TaskGroup: "g",
		SignedIdentities: map[string]string{"t": "tok-t", "u": "tok-u"}}
	if canary {
		a.DeploymentStatus = &structs.AllocDeploymentStatus{Canary: true}
	}
	return a
}

var testNet = &Network{HostAddress: "192.0.2.1", AllocAddress: "10.88.0.5",
	Ports: structs.AllocatedPorts{{Label: "http", Value: 25000, To: 8080, HostIP: "192.0.2.7"}, {Label: "raw", Value: 25001}}}

func TestNetworkAddress(t *testing.T) {
	for _, tc := range []struct {
		mode     structs.AddressMode
		port     string
		net      *Network
		addr     string
		portNum  int
		errMatch string
	}{
		{"", "http", testNet, "192.0.2.7", 25000, ""},
		{structs.AddressModeAuto, "http", testNet, "192.0.2.7", 25000, ""},
		{structs.AddressModeHost, "raw", testNet, "192.0.2.1", 25001, ""}, // no host IP: the node's
		{structs.AddressModeAlloc, "http", testNet, "10.88.0.5", 8080, ""},
		{structs.AddressModeAlloc, "raw", testNet, "10.88.0.5", 25001, ""}, // no "to": the same port
		{structs.AddressModeDriver, "http", testNet, "10.88.0.5", 8080, ""},
		{structs.AddressModeHost, "9090", testNet, "192.0.2.1", 9090, ""},
		{structs.AddressModeAlloc, "9090", testNet, "10.88.0.5", 9090, ""},
		{structs.AddressModeHost, "", testNet, "192.0.2.1", 0, ""},
		{structs.AddressModeHost, "nope", testNet, "", 0, `port label "nope"`},
		{structs.AddressModeHost, "70000", testNet, "", 0, "between 1 and 65535"},
		{structs.AddressModeAlloc, "http", &Network{HostAddress: "192.0.2.1"}, "", 0, "needs a group network namespace"},
	} {
		addr, port, err := tc.net.Address(tc.mode, tc.port)
		if tc.errMatch != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errMatch) {
				t.Errorf("%s/%s: error %v, want %q", tc.mode, tc.port, err, tc.errMatch)
			}
			continue
		}
		if err != nil || addr != tc.addr || port != tc.portNum {
			t.Errorf("%s/%s = %s:%d, %v; want %s:%d", tc.mode, tc.port, addr, port, err, tc.addr, tc.portNum)
		}
	}
}

func TestBuild(t *testing.T) {
	env := map[string]string{"NOMAD_JOB_NAME": "shop", "NOMAD_META_v": "3"}
	interp := func(s string) string {
		for k, v := range env {
			s = strings.ReplaceAll(s, "${"+k+"}", v)
		}
		return s
	}
	svc := &structs.Service{Name: "${NOMAD_JOB_NAME}-api", PortLabel: "http", Tags: []string{"v${NOMAD_META_v}"},
		CanaryTags: []string{"canary"}, Meta: map[string]string{"a": "1", "b": "2"}, CanaryMeta: map[string]string{"b": "canary"},
		Provider: structs.ServiceProviderNomad,
		Checks:   []*structs.ServiceCheck{{Name: "alive", Type: structs.CheckTypeHTTP}, {Name: "warm", Type: structs.CheckTypeTCP, InitialStatus: "warning"}}}

	insts, err := Build(BuildInput{Alloc: testAlloc(false), Owner: Owner{Group: "g", Task: "t"}, Services: []*structs.Service{svc}, Interpolate: interp, Network: testNet, Datacenter: "dc1"})
	if err != nil || len(insts) != 1 {
		t.Fatalf("Build: %d, %v", len(insts), err)
	}
	r := insts[0].Registration
	if r.ID != "_nomad-task-a1-t-shop-api-http" || r.ServiceName != "shop-api" || !slices.Equal(r.Tags, []string{"v3"}) || r.Meta["b"] != "2" ||
		r.Address != "192.0.2.7" || r.Port != 25000 || r.Datacenter != "dc1" || r.TaskName != "t" || r.Canary {
		t.Fatalf("registration %+v", r)
	}
	// Checks start at their initial_status, critical by default, so the
	// instance gets no traffic before a check passes.
	if r.Health != structs.HealthCritical || len(r.Checks) != 2 || r.Checks[0].Status != structs.HealthCritical ||
		r.Checks[1].Status != structs.HealthWarning || r.Checks[0].ID != "_nomad-task-a1-t-shop-api-http-check-0" {
		t.Fatalf("health %s, checks %+v %+v", r.Health, r.Checks[0], r.Checks[1])
	}
	if insts[0].Token != "tok-t" || insts[0].Task != "t" {
		t.Fatalf("token %q, task %q", insts[0].Token, insts[0].Task)
	}

	canary, _ := Build(BuildInput{Alloc: testAlloc(true), Owner: Owner{Group: "g"}, Services: []*structs.Service{svc}, Interpolate: interp, Network: testNet})
	c := canary[0].Registration
	// canary_meta replaces meta (Nomad's rule), it is not merged into it.
	if !c.Canary || !slices.Equal(c.Tags, []string{"canary"}) || len(c.Meta) != 1 || c.Meta["b"] != "canary" || c.ID != "_nomad-task-a1-group-g-shop-api-http" {
		t.Fatalf("canary registration %+v", c)
	}

	bad := []*structs.Service{{Name: "${NOMAD_META_missing}"}, {Name: "${NOMAD_JOB_NAME}_x"}, {Name: "ok", PortLabel: "nope"}, {Name: "fine"}}
	insts, err = Build(BuildInput{Alloc: testAlloc(false), Owner: Owner{Group: "g"}, Services: bad, Interpolate: interp, Network: testNet})
	if len(insts) != 1 || insts[0].Registration.ServiceName != "fine" || err == nil {
		t.Fatalf("bad services: %d built, %v", len(insts), err)
	}
	for _, want := range []string{"does not define", `"shop_x"`, `port label "nope"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestInstancesNotifiesChanges(t *testing.T) {
	s := NewInstances()
	ch := s.Changed()
	s.Put(Owner{Task: "b"}, []*Instance{{Registration: &structs.ServiceRegistration{ID: "b"}}})
	s.Put(Owner{Group: "g"}, []*Instance{{Registration: &structs.ServiceRegistration{ID: "g"}}})
	select {
	case <-ch:
	default:
		t.Fatal("Changed was not closed by Put")
	}
	if got := s.Snapshot(); len(got) != 2 || got[0].Registration.ID != "g" {
		t.Fatalf("snapshot %v", got)
	}
	ch = s.Changed()
	s.Put(Owner{Task: "nobody"}, nil) // nothing to remove: no wake-up
	select {
	case <-ch:
		t.Fatal("removing nothing woke the readers")
	default:
	}
	s.Put(Owner{Task: "b"}, nil)
	if got := s.Snapshot(); len(got) != 1 {
		t.Fatalf("after removal: %d", len(got))
	}
}
