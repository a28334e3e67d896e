package cli_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/roam-sh/roam/internal/apitest"
	"github.com/roam-sh/roam/structs"
)

// TestIntentionCommands: create a deny, see it listed and checked (exit 2),
// refuse a second create of the pair, replace it, delete it. Create, replace
// and delete name the intention in the same shape, namespaces included.
func TestIntentionCommands(t *testing.T) {
	c := apitest.Start(t)
	mustRoam(t, c, 0, "intention", "check", "web", "api")
	r := mustRoam(t, c, 0, "intention", "create", "-deny", "web", "api")
	assertContains(t, r, "Intention created: default/web => default/api (deny)")
	r = mustRoam(t, c, 2, "intention", "check", "web", "api")
	assertContains(t, r, "Denied")
	r = mustRoam(t, c, 1, "intention", "create", "-allow", "web", "api")
	assertContains(t, r, "exists already", "-replace")
	mustRoam(t, c, 0, "intention", "create", "-deny", "*", "api")
	r = mustRoam(t, c, 0, "intention", "list")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], "web") || !strings.HasSuffix(strings.TrimSpace(lines[1]), "9") || !strings.HasSuffix(strings.TrimSpace(lines[2]), "8") {
		t.Fatalf("list, want the exact pair first:\n%s", r.stdout)
	}
	r = mustRoam(t, c, 0, "intention", "list", "-json")
	var all []structs.Intention
	if err := json.Unmarshal([]byte(r.stdout), &all); err != nil || len(all) != 2 || all[0].SourceName != "web" || all[1].SourceName != "*" {
		t.Fatalf("list -json, want web's then *'s: %v\n%s", err, r.stdout)
	}
	r = mustRoam(t, c, 0, "intention", "get", all[1].ID)
	assertContains(t, r, "Source:       *", "Action:       deny", all[1].ID)
	r = mustRoam(t, c, 0, "intention", "create", "-allow", "-replace", "web", "api")
	assertContains(t, r, "Intention updated: default/web => default/api (allow)")
	mustRoam(t, c, 0, "intention", "check", "web", "api")
	mustRoam(t, c, 2, "intention", "check", "billing", "api")
	r = mustRoam(t, c, 0, "intention", "get", "web", "api", "-json")
	var in structs.Intention
	if err := json.Unmarshal([]byte(r.stdout), &in); err != nil || in.Action != structs.IntentionActionAllow || in.Precedence != 9 {
		t.Fatalf("get -json: %v\n%s", err, r.stdout)
	}
	r = mustRoam(t, c, 0, "intention", "delete", in.ID)
	assertContains(t, r, "Intention deleted: default/web => default/api (allow)")
	r = mustRoam(t, c, 0, "intention", "delete", "*", "api")
	assertContains(t, r, "Intention deleted: default/* => default/api (deny)")
	mustRoam(t, c, 0, "intention", "check", "billing", "api")
	r = mustRoam(t, c, 1, "intention", "create", "-deny", "web-*", "api")
	assertContains(t, r, "wildcard must be the whole name")
}

func TestConnectCARootsAndRotate(t *testing.T) {
	c := apitest.Start(t)
	r := mustRoam(t, c, 0, "connect", "ca", "roots")
	assertContains(t, r, ".consul", "true")
	mustRoam(t, c, 0, "connect", "ca", "rotate")
	r = mustRoam(t, c, 0, "connect", "ca", "roots", "-json")
	var l structs.CARootList
	if err := json.Unmarshal([]byte(r.stdout), &l); err != nil || len(l.Roots) != 2 || l.Roots[0].Active == l.Roots[1].Active {
		t.Fatalf("roots after rotate: %v\n%s", err, r.stdout)
	}
	r = mustRoam(t, c, 0, "connect", "ca", "roots", "-pem")
	assertContains(t, r, "BEGIN CERTIFICATE")
}

// At the cap on kept roots a rotation is refused with when it can be
// retried, and the command fails.
func TestConnectCARotateRefusedAtTheCap(t *testing.T) {
	c := apitest.Start(t)
	for range 7 { // the first root and seven rotations: eight, the cap
		mustRoam(t, c, 0, "connect", "ca", "rotate")
	}
	r := mustRoam(t, c, 1, "connect", "ca", "rotate")
	assertContains(t, r, "8 roots are kept", "oldest rotated-out root is pruned in")
}
