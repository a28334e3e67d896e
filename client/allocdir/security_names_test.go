package allocdir

import (
	"slices"
	"testing"

	"github.com/roam-sh/roam/structs"
)

// TestSecurityNamesLayoutReserved: every folder this package creates beside
// or inside a task's directory is a name no task may have (structs repeats
// the layout, since it imports none of roam's packages).
func TestSecurityNamesLayoutReserved(t *testing.T) {
	reserved := structs.ReservedTaskNames()
	for _, name := range []string{SharedAllocName, TaskLocal, TaskSecrets, TaskPrivate, TmpDirName} {
		if !slices.Contains(reserved, name) {
			t.Errorf("allocation directory folder %q is not in structs.ReservedTaskNames %v", name, reserved)
		}
	}
}
