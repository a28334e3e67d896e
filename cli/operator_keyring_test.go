package cli_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/roam-sh/roam/internal/apitest"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

func TestOperatorRootKeyringListAndRotate(t *testing.T) {
	c := apitest.Start(t)
	// The leader creates the first key as it takes office.
	testutil.WaitFor(t, apitest.Wait, func() error {
		if k, _ := c.Server.State().ActiveRootKey(nil); k == nil {
			return errors.New("no key yet")
		}
		return nil
	})
	first, _ := c.Server.State().ActiveRootKey(nil)
	r := mustRoam(t, c, 0, "operator", "root", "keyring", "list")
	if !strings.Contains(r.stdout, first.KeyID[:8]+"  active") {
		t.Fatalf("list:\n%s", r.stdout)
	}
	r = mustRoam(t, c, 0, "operator", "root", "keyring", "rotate", "-verbose")
	rotated, _ := c.Server.State().ActiveRootKey(nil)
	if rotated.KeyID == first.KeyID || !strings.Contains(r.stdout, rotated.KeyID) {
		t.Fatalf("rotate:\n%s", r.stdout)
	}
	r = mustRoam(t, c, 0, "operator", "root", "keyring", "list", "-json")
	var keys []structs.RootKeyMeta
	if err := json.Unmarshal([]byte(r.stdout), &keys); err != nil || len(keys) != 2 ||
		keys[0].KeyID != rotated.KeyID || keys[1].State != structs.RootKeyStateInactive {
		t.Fatalf("list -json: %v\n%s", err, r.stdout)
	}
}
