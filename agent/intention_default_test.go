package agent

import (
	"fmt"
	"testing"
	"time"

	consulapi "github.com/hashicorp/consul/api"

	"github.com/roam-sh/roam/testutil"
)

// TestDefaultIntentionPolicyDeny: an agent configured with
// client.default_intention_policy = "deny" refuses, at the authorize
// endpoint its sidecars ask on every inbound connection, a pair no intention
// names, and allows it once an allow intention exists; the check endpoint
// (`roam intention check`) says the same.
func TestDefaultIntentionPolicyDeny(t *testing.T) {
	a := testAgent(t, func(c *Config) { c.Client.DefaultIntentionPolicy = "deny" })
	cc, err := consulapi.NewClient(&consulapi.Config{Address: a.HTTPAddr()})
	if err != nil {
		t.Fatal(err)
	}
	roots, _, err := cc.Agent().ConnectCARoots(nil)
	if err != nil {
		t.Fatal(err)
	}
	web := "spiffe://" + roots.TrustDomain + "/ns/default/dc/dc1/svc/web"
	decide := func() (authorized, checked bool, reason string) {
		t.Helper()
		res, err := cc.Agent().ConnectAuthorize(&consulapi.AgentAuthorizeParams{Target: "api", ClientCertURI: web})
		if err != nil {
			t.Fatalf("authorize: %v", err)
		}
		ok, _, err := cc.Connect().IntentionCheck(&consulapi.IntentionCheck{Source: "web", Destination: "api"}, nil)
		if err != nil {
			t.Fatalf("intention check: %v", err)
		}
		return res.Authorized, ok, res.Reason
	}
	if auth, ok, why := decide(); auth || ok {
		t.Fatalf("no intention under default deny: authorized %v, check %v (%q)", auth, ok, why)
	}
	if _, err := cc.Connect().IntentionUpsert(&consulapi.Intention{
		SourceName: "web", DestinationName: "api", Action: consulapi.IntentionActionAllow,
	}, nil); err != nil {
		t.Fatal(err)
	}
	// Authorize answers from the node's cache, which follows the servers'
	// set by a blocking query: the allow reaches it shortly.
	testutil.WaitFor(t, 30*time.Second, func() error {
		if auth, ok, why := decide(); !auth || !ok {
			return fmt.Errorf("after an allow intention: authorized %v, check %v (%q)", auth, ok, why)
		}
		return nil
	})
}
