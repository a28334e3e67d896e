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

// TestSecurityNamesPrivateRule: structs' rule for job paths (AgentOwnedPath)
// names this package's private/ folder and exempts its shared alloc/ one.
func TestSecurityNamesPrivateRule(t *testing.T) {
	if TaskPrivate != structs.TaskPrivateDirName {
		t.Errorf("TaskPrivate %q, structs.TaskPrivateDirName %q", TaskPrivate, structs.TaskPrivateDirName)
	}
	if !structs.AgentOwnedPath("web/" + TaskPrivate + "/x") {
		t.Errorf("web/%s/x not refused", TaskPrivate)
	}
	if structs.AgentOwnedPath(SharedAllocName + "/" + TaskPrivate + "/x") {
		t.Errorf("%s/%s/x refused", SharedAllocName, TaskPrivate)
	}
}
