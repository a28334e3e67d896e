package structs

import "testing"

// TestEveryModeButHostIsIsolated: the allocation runner asks the client's
// network manager for every mode but host, so that a mode added to the
// manager's list (client/network) gets a namespace with no change here.
func TestEveryModeButHostIsIsolated(t *testing.T) {
	for mode, want := range map[NetworkMode]bool{
		"": false, NetworkModeHost: false,
		NetworkModeBridge: true, NetworkModeNone: true, "cni/mynet": true, "a-mode-added-later": true,
	} {
		if got := mode.Isolated(); got != want {
			t.Errorf("%q.Isolated() = %v, want %v", mode, got, want)
		}
	}
}
