package client

import (
	"context"

	"github.com/roam-sh/roam/client/servicereg"
	"github.com/roam-sh/roam/structs"
)

// serviceCatalog is the servers' service catalog over RPC, what the group
// and task services hooks and the check runner write to.
type serviceCatalog struct{ c *Client }

var _ servicereg.Catalog = serviceCatalog{}

// write authenticates a catalog write with the allocation's workload
// identity, or without one with the node's SecretID: the servers refuse
// tokenless catalog writes.
func (s serviceCatalog) write(token string) structs.WriteRequest {
	if token == "" {
		token = s.c.node.SecretID
	}
	return structs.WriteRequest{Region: s.c.cfg.Region, AuthToken: token}
}

func (s serviceCatalog) Register(ctx context.Context, token string, regs []*structs.ServiceRegistration) error {
	req := &structs.ServiceRegistrationUpsertRequest{Services: regs, WriteRequest: s.write(token)}
	return s.c.rpc(ctx, structs.MethodServiceRegistrationUpsert, req, &structs.GenericResponse{})
}

func (s serviceCatalog) Deregister(ctx context.Context, token string, ids []string) error {
	req := &structs.ServiceRegistrationDeleteRequest{IDs: ids, WriteRequest: s.write(token)}
	return s.c.rpc(ctx, structs.MethodServiceRegistrationDelete, req, &structs.GenericResponse{})
}

func (s serviceCatalog) UpdateHealth(ctx context.Context, token string, updates []*structs.ServiceHealthUpdate) error {
	req := &structs.ServiceRegistrationUpdateHealthRequest{Updates: updates, WriteRequest: s.write(token)}
	return s.c.rpc(ctx, structs.MethodServiceRegistrationUpdateHealth, req, &structs.GenericResponse{})
}
