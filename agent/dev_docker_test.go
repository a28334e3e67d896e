package agent

import (
	"testing"

	"github.com/roam-sh/roam/drivers/docker"
)

// A dev agent offers raw_exec, the one unconfined driver, and says so; its
// docker tasks must not bind host paths (Nomad's -dev lets them).
func TestSecurityHostPathsDevAgentDockerVolumesOff(t *testing.T) {
	pc, err := docker.ParsePluginConfig(DevConfig().Plugins["docker"])
	if err != nil {
		t.Fatal(err)
	}
	if pc.Volumes.Enabled {
		t.Fatal("a -dev agent lets docker jobs bind any host path (volumes enabled)")
	}
}
