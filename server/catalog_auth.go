package server

import (
	"crypto/subtle"
	"fmt"
	"regexp"
	"strings"

	"github.com/roam-sh/roam/identity"
	"github.com/roam-sh/roam/structs"
)

// Service catalog writes (ServiceRegistration.Upsert, Delete and
// UpdateHealth) are authorised here, once for the three. A write carries
// one of two credentials in its auth token:
//
//   - the workload identity of an allocation (a signed JWT): it may write
//     that allocation's registrations only;
//   - the SecretID of a node (what a client holds, as Node.UpdateAlloc
//     requires): it may write the registrations of allocations placed on
//     that node only.
//
// Whatever the credential, a registration must describe its allocation as
// the servers know it: the allocation exists, its namespace, job and node
// are the registration's, and the service name is one of the services of
// the allocation's group or tasks. So neither a task nor another node that
// reaches the RPC port can publish an address under another job's service
// name, nor deregister or mark critical another allocation's instances. A
// write without a token is refused: roam has no ACL system, so no operator
// token exists that could stand for "anyone" (docs/security.md).

// catalogAuth is the credential of one catalog write, checked once per item.
type catalogAuth struct {
	s      *Server
	token  string
	claims *structs.IdentityClaims // set for a workload identity
	// secrets caches node SecretIDs for the request ("" for unknown nodes).
	secrets map[string]string
}

// errNoCatalogToken is the refusal of a tokenless write.
const errNoCatalogToken = "service catalog writes need an auth token: the workload identity of the allocation, or the SecretID of the node it runs on"

// catalogCredential reads a write's token: a workload identity is verified
// now; anything else is taken for a node SecretID, compared per allocation.
func (s *Server) catalogCredential(token string) (*catalogAuth, error) {
	if token == "" {
		return nil, permissionDenied(errNoCatalogToken)
	}
	c := &catalogAuth{s: s, token: token, secrets: map[string]string{}}
	if identity.LooksLikeToken(token) {
		claims, err := s.VerifyIdentity(token)
		if err != nil {
			return nil, permissionDenied(err.Error())
		}
		c.claims = claims
	}
	return c, nil
}

// allowAlloc says whether the credential may write allocation a's
// registrations (nodeID is where the allocation is placed).
func (c *catalogAuth) allowAlloc(allocID, nodeID, what string) error {
	if c.claims != nil {
		if allocID != c.claims.AllocationID {
			return permissionDenied(fmt.Sprintf("identity of allocation %s may not %s of allocation %s", c.claims.AllocationID, what, allocID))
		}
		return nil
	}
	secret, ok := c.secrets[nodeID]
	if !ok {
		node, err := c.s.state.NodeByID(nil, nodeID)
		if err != nil {
			return err
		}
		if node != nil {
			secret = node.SecretID
		}
		c.secrets[nodeID] = secret
	}
	if secret == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(c.token)) != 1 {
		return permissionDenied(fmt.Sprintf("may not %s of allocation %s: the token is neither its workload identity nor the SecretID of its node", what, allocID))
	}
	return nil
}

// authorizeServices checks an upsert: every registration names a known
// allocation the credential may write, and matches it.
func (s *Server) authorizeServices(token string, regs []*structs.ServiceRegistration) error {
	c, err := s.catalogCredential(token)
	if err != nil {
		return err
	}
	for _, r := range regs {
		a, err := s.state.AllocByID(nil, r.AllocID)
		if err != nil {
			return err
		}
		if a == nil {
			return permissionDenied(fmt.Sprintf("service %q names allocation %q, which does not exist", r.ServiceName, r.AllocID))
		}
		if err := c.allowAlloc(a.ID, a.NodeID, fmt.Sprintf("register service %q", r.ServiceName)); err != nil {
			return err
		}
		if err := registrationMatches(r, a); err != nil {
			return permissionDenied(err.Error())
		}
	}
	return nil
}

// registrationMatches checks that r describes its allocation: same
// namespace, job and node, and a service name the allocation's group or
// tasks declare.
func registrationMatches(r *structs.ServiceRegistration, a *structs.Allocation) error {
	switch {
	case r.Namespace != a.Namespace || r.JobID != a.JobID:
		return fmt.Errorf("service %q is registered for job %q in namespace %q, but allocation %s belongs to job %q in namespace %q",
			r.ServiceName, r.JobID, r.Namespace, a.ID, a.JobID, a.Namespace)
	case r.NodeID != a.NodeID:
		return fmt.Errorf("service %q is registered on node %q, but allocation %s is placed on node %q", r.ServiceName, r.NodeID, a.ID, a.NodeID)
	}
	tg := a.LookupTaskGroup()
	if tg == nil || !declaresService(tg, r.ServiceName) {
		return fmt.Errorf("allocation %s (job %q group %q) declares no service named %q", a.ID, a.JobID, a.TaskGroup, r.ServiceName)
	}
	return nil
}

// declaresService reports whether name is one of the group's or its tasks'
// service names, a ${...} reference in a declared name standing for any
// text (the client interpolates names; the servers do not know the values).
func declaresService(tg *structs.TaskGroup, name string) bool {
	for _, s := range tg.Services {
		if s != nil && nameMatches(s.Name, name) {
			return true
		}
	}
	for _, t := range tg.Tasks {
		for _, s := range t.Services {
			if s != nil && nameMatches(s.Name, name) {
				return true
			}
		}
	}
	return false
}

// interpolation matches a ${...} reference in a declared name.
var interpolation = regexp.MustCompile(`\$\{[^}]*\}`)

func nameMatches(declared, name string) bool {
	if !strings.Contains(declared, "${") {
		return declared == name
	}
	lits := interpolation.Split(declared, -1)
	for i, l := range lits {
		lits[i] = regexp.QuoteMeta(l)
	}
	re, err := regexp.Compile("^" + strings.Join(lits, ".*") + "$")
	return err == nil && re.MatchString(name)
}

// authorizeServiceDelete checks a deregistration: by ID, of registrations
// whose allocation the credential may write; by allocation, of allocations
// it may write. Registrations already gone need no permission.
func (s *Server) authorizeServiceDelete(token string, args *structs.ServiceRegistrationDeleteRequest) error {
	c, err := s.catalogCredential(token)
	if err != nil {
		return err
	}
	for _, id := range args.AllocIDs {
		if err := s.allowAllocRegistrations(c, id); err != nil {
			return err
		}
	}
	for _, id := range args.IDs {
		if err := s.allowRegistration(c, id, "deregister service"); err != nil {
			return err
		}
	}
	return nil
}

// allowAllocRegistrations checks a deregistration of a whole allocation:
// its node's (or, once it is collected, its registrations' node's).
func (s *Server) allowAllocRegistrations(c *catalogAuth, allocID string) error {
	const what = "deregister the services"
	a, err := s.state.AllocByID(nil, allocID)
	if err != nil {
		return err
	}
	if a != nil {
		return c.allowAlloc(a.ID, a.NodeID, what)
	}
	regs, err := s.state.ServiceRegistrationsByAlloc(nil, allocID)
	if err != nil {
		return err
	}
	for _, r := range regs {
		if err := c.allowAlloc(r.AllocID, r.NodeID, what); err != nil {
			return err
		}
	}
	if len(regs) == 0 && c.claims != nil && allocID != c.claims.AllocationID {
		return c.allowAlloc(allocID, "", what)
	}
	return nil
}

// allowRegistration checks a write of one stored registration; its node
// was checked against its allocation when it was registered.
func (s *Server) allowRegistration(c *catalogAuth, id, what string) error {
	r, err := s.state.ServiceRegistrationByID(nil, id)
	if err != nil || r == nil {
		return err
	}
	return c.allowAlloc(r.AllocID, r.NodeID, fmt.Sprintf("%s %q", what, r.ServiceName))
}

// authorizeServiceHealth checks a health update: only of registrations
// whose allocation the credential may write. Updates of registrations
// that are gone are dropped by the state store.
func (s *Server) authorizeServiceHealth(token string, updates []*structs.ServiceHealthUpdate) error {
	c, err := s.catalogCredential(token)
	if err != nil {
		return err
	}
	for _, u := range updates {
		if err := s.allowRegistration(c, u.ID, "report the health of service"); err != nil {
			return err
		}
	}
	return nil
}
