package server

import (
	"errors"
	"strings"
	"testing"

	"github.com/roam-sh/roam/structs"
)

// TestSecurityCatalogWrites: a catalog write needs the allocation's
// workload identity or its node's SecretID. Without a token, with another
// node's secret, for another job's allocation, under a service name the
// job does not declare, or on a node the allocation is not on, it is
// refused with a 403 that says why; the node's own writes go through.
func TestSecurityCatalogWrites(t *testing.T) {
	s := testServer(t)
	n1 := registerNode(t, s)
	registerJob(t, s, withServices(testJob("web", 1), "web", "${NOMAD_JOB_NAME}-admin"))
	web := waitLiveAllocs(t, s, "web", 1)[0]
	n2 := registerNode(t, s) // after web is placed, so web is on n1
	if web.NodeID != n1.ID {
		t.Fatalf("web placed on %s, want %s", web.NodeID, n1.ID)
	}
	registerJob(t, s, withServices(testJob("db", 1), "db"))
	db := waitLiveAllocs(t, s, "db", 1)[0]

	reg := func(a *structs.Allocation, name string) *structs.ServiceRegistration {
		return &structs.ServiceRegistration{ID: "_nomad-task-" + a.ID + "-" + name, ServiceName: name, Namespace: "default",
			JobID: a.JobID, AllocID: a.ID, NodeID: a.NodeID, Address: "127.0.0.1", Port: 8080}
	}
	upsert := func(token string, r *structs.ServiceRegistration) error {
		return s.RPC(structs.MethodServiceRegistrationUpsert, &structs.ServiceRegistrationUpsertRequest{
			Services: []*structs.ServiceRegistration{r}, WriteRequest: structs.WriteRequest{AuthToken: token}}, &structs.GenericResponse{})
	}
	hijack := reg(web, "db") // web's allocation claiming the db service
	hijack.JobID = "db"
	otherNode := reg(web, "web")
	otherNode.NodeID = n2.ID
	refused := []struct {
		name, token, want string
		reg               *structs.ServiceRegistration
	}{
		{"no token", "", "need an auth token", reg(web, "web")},
		{"another node's secret", n2.SecretID, "neither its workload identity nor the SecretID of its node", reg(web, "web")},
		{"a guessed secret", structs.GenerateUUID(), "neither its workload identity nor the SecretID of its node", reg(web, "web")},
		{"another job's name for my allocation", n1.SecretID, `belongs to job "web"`, hijack},
		{"a name my job does not declare", n1.SecretID, `declares no service named "db"`, reg(web, "db")},
		{"a node the allocation is not on", n1.SecretID, "is placed on node", otherNode},
		{"an allocation that does not exist", n1.SecretID, "does not exist", func() *structs.ServiceRegistration { r := reg(web, "web"); r.AllocID = "nope"; return r }()},
		{"another node's allocation", n1.SecretID, "neither its workload identity", reg(db, "db")},
	}
	if db.NodeID == n1.ID {
		refused = refused[:len(refused)-1] // db landed on n1: the last case does not apply
	}
	for _, tc := range refused {
		err := upsert(tc.token, tc.reg)
		if !errors.Is(err, structs.ErrPermissionDenied) || ErrorCode(err) != 403 || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want a 403 saying %q", tc.name, err, tc.want)
		}
	}
	if regs, _ := s.State().ServiceRegistrationsByName(nil, "default", "db"); len(regs) != 0 {
		t.Fatalf("refused writes registered %d db instances", len(regs))
	}

	// The node's own writes go through, interpolated names included.
	must(t, upsert(n1.SecretID, reg(web, "web")))
	must(t, upsert(n1.SecretID, reg(web, "web-admin")))
	must(t, upsert(nodeSecret(t, s, db.NodeID), reg(db, "db")))

	// Health and deregistration: only from the instance's node.
	health := func(token, id string) error {
		return s.RPC(structs.MethodServiceRegistrationUpdateHealth, &structs.ServiceRegistrationUpdateHealthRequest{
			Updates:      []*structs.ServiceHealthUpdate{{ID: id, Health: structs.HealthCritical}},
			WriteRequest: structs.WriteRequest{AuthToken: token}}, &structs.GenericResponse{})
	}
	del := func(token string, req structs.ServiceRegistrationDeleteRequest) error {
		req.AuthToken = token
		return s.RPC(structs.MethodServiceRegistrationDelete, &req, &structs.GenericResponse{})
	}
	id := reg(web, "web").ID
	for name, err := range map[string]error{
		"health without a token":              health("", id),
		"health with another node's secret":   health(n2.SecretID, id),
		"delete without a token":              del("", structs.ServiceRegistrationDeleteRequest{IDs: []string{id}}),
		"delete with another node's secret":   del(n2.SecretID, structs.ServiceRegistrationDeleteRequest{IDs: []string{id}}),
		"delete an allocation from elsewhere": del(n2.SecretID, structs.ServiceRegistrationDeleteRequest{AllocIDs: []string{web.ID}}),
	} {
		if !errors.Is(err, structs.ErrPermissionDenied) {
			t.Errorf("%s: %v, want permission denied", name, err)
		}
	}
	if r, _ := s.State().ServiceRegistrationByID(nil, id); r == nil || r.Health == structs.HealthCritical {
		t.Fatalf("refused writes changed the instance: %+v", r)
	}
	must(t, health(n1.SecretID, id))
	must(t, del(n1.SecretID, structs.ServiceRegistrationDeleteRequest{IDs: []string{id}}))
	must(t, del(n1.SecretID, structs.ServiceRegistrationDeleteRequest{AllocIDs: []string{web.ID}}))
	if r, _ := s.State().ServiceRegistrationByID(nil, reg(web, "web-admin").ID); r != nil {
		t.Fatal("deregistering the allocation left an instance")
	}
}
