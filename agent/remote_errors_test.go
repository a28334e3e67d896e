package agent

import (
	"net/http"
	"testing"

	"github.com/roam-sh/roam/api"
)

// TestClientOnlyAgentKeepsServerErrorCodes: an agent without a server sends
// writes to its servers over RPC, where errors travel with their kind; its
// HTTP API answers 404 for an unknown object and 400 for a refused request,
// as the server's own API does.
func TestClientOnlyAgentKeepsServerErrorCodes(t *testing.T) {
	a := testAgent(t, nil)
	b := testAgent(t, func(c *Config) {
		c.Server.Enabled = false
		c.Client.Servers = []string{a.Server().LocalAddr()}
	})
	for name, c := range map[string]*api.Client{"server agent": apiClient(t, a), "client-only agent": apiClient(t, b)} {
		_, _, err := c.Jobs().Deregister("no-such-job", false, nil)
		if code := statusOf(err); code != http.StatusNotFound {
			t.Errorf("%s: stop an unknown job: %d (%v), want 404", name, code, err)
		}
		_, err = c.Nodes().ToggleEligibility("00000000-0000-0000-0000-000000000000", false, nil)
		if code := statusOf(err); code != http.StatusNotFound {
			t.Errorf("%s: eligibility of an unknown node: %d (%v), want 404", name, code, err)
		}
		job := &api.Job{ID: "bad", Name: "bad", Type: "service", Datacenters: []string{"dc1"}}
		_, _, err = c.Jobs().Register(job, nil, nil)
		if code := statusOf(err); code != http.StatusBadRequest {
			t.Errorf("%s: register a job without groups: %d (%v), want 400", name, code, err)
		}
	}
}

func statusOf(err error) int {
	if se, ok := err.(*api.StatusError); ok {
		return se.Code
	}
	if err == nil {
		return http.StatusOK
	}
	return -1
}
