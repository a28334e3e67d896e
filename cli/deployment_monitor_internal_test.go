package cli

import (
	"testing"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/structs"
)

// TestNeedsPromotion: the monitor tells the operator to promote only when a
// running deployment waits for nothing else.
func TestNeedsPromotion(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status string
		g      api.DeploymentState
		want   bool
	}{
		{"canaries healthy, not promoted", "running", api.DeploymentState{DesiredCanaries: 1, HealthyAllocs: 1}, true},
		{"canaries not healthy yet", "running", api.DeploymentState{DesiredCanaries: 2, HealthyAllocs: 1}, false},
		{"already promoted", "running", api.DeploymentState{DesiredCanaries: 1, HealthyAllocs: 1, Promoted: true}, false},
		{"auto_promote does it", "running", api.DeploymentState{DesiredCanaries: 1, HealthyAllocs: 1, AutoPromote: true}, false},
		{"no canaries", "running", api.DeploymentState{DesiredTotal: 3, HealthyAllocs: 1}, false},
		{"paused", "paused", api.DeploymentState{DesiredCanaries: 1, HealthyAllocs: 1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := tc.g
			d := &api.Deployment{Status: structs.DeploymentStatus(tc.status), TaskGroups: map[string]*api.DeploymentState{"web": &g}}
			if got := needsPromotion(d); got != tc.want {
				t.Errorf("needsPromotion = %v, want %v", got, tc.want)
			}
		})
	}
}
