package client

import (
	"testing"

	"github.com/roam-sh/roam/structs"
)

// TestCatalogWritesCarryACredential: the servers refuse tokenless catalog
// writes, so an allocation without a workload identity registers with the
// node's SecretID; one with an identity keeps using it.
func TestCatalogWritesCarryACredential(t *testing.T) {
	c := &Client{cfg: Config{Region: "global"}, node: &structs.Node{ID: "n", SecretID: "node-secret"}}
	if got := (serviceCatalog{c}).write("").AuthToken; got != "node-secret" {
		t.Fatalf("without an identity the write carries %q, want the node's SecretID", got)
	}
	if got := (serviceCatalog{c}).write("eyJ.identity.sig").AuthToken; got != "eyJ.identity.sig" {
		t.Fatalf("with an identity the write carries %q", got)
	}
}
