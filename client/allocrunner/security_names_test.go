package allocrunner

import (
	"slices"
	"testing"

	"github.com/roam-sh/roam/structs"
)

// TestSecurityNamesNetworkDirReserved: the network hook writes the
// allocation's hosts and resolv.conf (as root) into a folder beside the
// task directories; no task may be named like it.
func TestSecurityNamesNetworkDirReserved(t *testing.T) {
	if !slices.Contains(structs.ReservedTaskNames(), etcDirName) {
		t.Errorf("%q is not in structs.ReservedTaskNames", etcDirName)
	}
}
