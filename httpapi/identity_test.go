package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/roam-sh/roam/internal/apitest"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// nomadClaims are the workload identity claims as a third party reads them.
type nomadClaims struct {
	Namespace    string `json:"nomad_namespace"`
	JobID        string `json:"nomad_job_id"`
	AllocationID string `json:"nomad_allocation_id"`
	Task         string `json:"nomad_task"`
}

func fetchJWKS(t *testing.T, c *apitest.Cluster) jose.JSONWebKeySet {
	t.Helper()
	resp := mustCall(t, c, http.StatusOK, "GET", "/.well-known/jwks.json", nil)
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(resp.body, &set); err != nil {
		t.Fatalf("decode JWKS %s: %v", resp.text(), err)
	}
	return set
}

// verifyWithJose verifies a token with go-jose against the published JWKS,
// as any third-party consumer of roam's identities would.
func verifyWithJose(t *testing.T, set jose.JSONWebKeySet, token string) (string, jwt.Claims, nomadClaims) {
	t.Helper()
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatalf("parse token: %v", err)
	}
	kid := tok.Headers[0].KeyID
	keys := set.Key(kid)
	if len(keys) != 1 {
		t.Fatalf("JWKS has %d keys with kid %q", len(keys), kid)
	}
	var std jwt.Claims
	var nomad nomadClaims
	if err := tok.Claims(keys[0].Key, &std, &nomad); err != nil {
		t.Fatalf("verify token with go-jose: %v", err)
	}
	if err := std.Validate(jwt.Expected{AnyAudience: jwt.Audience{"nomadproject.io"}}); err != nil {
		t.Fatalf("validate standard claims: %v", err)
	}
	return kid, std, nomad
}

func placedAlloc(t *testing.T, c *apitest.Cluster, jobID string) *structs.Allocation {
	t.Helper()
	var reply structs.JobRegisterResponse
	if err := c.Server.RPC(structs.MethodJobRegister, &structs.JobRegisterRequest{Job: apitest.Job(jobID, 1)}, &reply); err != nil {
		t.Fatal(err)
	}
	c.WaitEval(t, reply.EvalID)
	var alloc *structs.Allocation
	testutil.WaitFor(t, apitest.Wait, func() error {
		allocs, err := c.Server.State().AllocsByJob(nil, "default", jobID, false)
		if err != nil || len(allocs) != 1 {
			return errString("no allocation yet")
		}
		alloc = allocs[0]
		return nil
	})
	return alloc
}

func TestWorkloadIdentitiesVerifyAgainstJWKS(t *testing.T) {
	c := apitest.Start(t)
	c.RegisterNode(t)
	before := placedAlloc(t, c, "before")
	set := fetchJWKS(t, c)
	if len(set.Keys) != 1 || set.Keys[0].Algorithm != "ES256" || set.Keys[0].Use != "sig" || !set.Keys[0].IsPublic() {
		t.Fatalf("JWKS: %+v", set.Keys)
	}
	oldKid, std, nomad := verifyWithJose(t, set, before.SignedIdentities["web"])
	want := nomadClaims{Namespace: "default", JobID: "before", AllocationID: before.ID, Task: "web"}
	if nomad != want || std.Subject != "global:default:before:web:web:default" {
		t.Fatalf("claims %+v sub %q", nomad, std.Subject)
	}
	// The identity is a secret: the allocation's JSON does not carry it.
	body := mustCall(t, c, http.StatusOK, "GET", "/v1/allocation/"+before.ID, nil).text()
	if strings.Contains(body, "SignedIdentities") || strings.Contains(body, before.SignedIdentities["web"]) {
		t.Fatal("GET /v1/allocation exposes the workload identity")
	}

	rot := mustCall(t, c, http.StatusOK, "PUT", "/v1/operator/keyring/rotate", nil)
	var rotated struct{ Key structs.RootKeyMeta }
	if err := json.Unmarshal(rot.body, &rotated); err != nil || rotated.Key.KeyID == "" || rotated.Key.KeyID == oldKid {
		t.Fatalf("rotate: %s (%v)", rot.text(), err)
	}
	var keys []structs.RootKeyMeta
	if err := json.Unmarshal(mustCall(t, c, http.StatusOK, "GET", "/v1/operator/keyring/keys", nil).body, &keys); err != nil || len(keys) != 2 {
		t.Fatalf("keyring list: %v %+v", err, keys)
	}
	if strings.Contains(string(rot.body), "PrivateKey") {
		t.Fatal("rotation response carries key material")
	}

	set = fetchJWKS(t, c)
	if len(set.Keys) != 2 {
		t.Fatalf("JWKS after rotation has %d keys, want the old and the new", len(set.Keys))
	}
	if kid, _, _ := verifyWithJose(t, set, before.SignedIdentities["web"]); kid != oldKid {
		t.Fatalf("old token names %q", kid)
	}
	after := placedAlloc(t, c, "after")
	if kid, _, nomad := verifyWithJose(t, set, after.SignedIdentities["web"]); kid != rotated.Key.KeyID || nomad.JobID != "after" {
		t.Fatalf("new token: kid %q, claims %+v; want kid %q", kid, nomad, rotated.Key.KeyID)
	}
}

func TestOIDCDiscoveryOnlyWithAnIssuer(t *testing.T) {
	off := apitest.Start(t)
	if r := call(t, off, "GET", "/.well-known/openid-configuration", nil); r.code != http.StatusNotFound {
		t.Fatalf("without oidc_issuer: %d %s", r.code, r.text())
	}

	const issuer = "https://roam.example.com:4646"
	c := apitest.Start(t, apitest.Options{OIDCIssuer: issuer})
	c.RegisterNode(t)
	var doc struct {
		Issuer  string   `json:"issuer"`
		JWKSURI string   `json:"jwks_uri"`
		Algs    []string `json:"id_token_signing_alg_values_supported"`
	}
	body := mustCall(t, c, http.StatusOK, "GET", "/.well-known/openid-configuration", nil)
	if err := json.Unmarshal(body.body, &doc); err != nil || doc.Issuer != issuer ||
		doc.JWKSURI != issuer+"/.well-known/jwks.json" || len(doc.Algs) != 1 || doc.Algs[0] != "ES256" {
		t.Fatalf("discovery document: %s (%v)", body.text(), err)
	}
	// Tokens name the issuer the document promises.
	alloc := placedAlloc(t, c, "web")
	_, std, _ := verifyWithJose(t, fetchJWKS(t, c), alloc.SignedIdentities["web"])
	if err := std.Validate(jwt.Expected{Issuer: issuer}); err != nil {
		t.Fatalf("iss: %v", err)
	}
}
