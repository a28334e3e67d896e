package structs

import (
	"errors"
	"fmt"
	"time"
)

// AutopilotConfig is how the leader's autopilot judges and manages the
// servers (docs/cluster.md#autopilot), replicated in the state so that
// every server's autopilot uses the same settings after a failover. Its
// wire shape is Nomad's /v1/operator/autopilot/configuration.
type AutopilotConfig struct {
	// CleanupDeadServers lets autopilot remove a server unreachable for
	// longer than the server's dead-server clean-up time.
	CleanupDeadServers bool
	// LastContactThreshold is the longest a healthy server may go without
	// hearing from the leader.
	LastContactThreshold time.Duration
	// MaxTrailingLogs is how far behind the leader's log a healthy server
	// may be.
	MaxTrailingLogs uint64
	// MinQuorum is the fewest voters autopilot leaves when it removes a dead
	// server; roam never goes below bootstrap_expect either.
	MinQuorum uint
	// ServerStabilizationTime is how long a new server stays healthy before
	// autopilot promotes it to voter.
	ServerStabilizationTime time.Duration
	// Nomad Enterprise's fields: roam has none of these features, so a
	// configuration that turns one on is refused.
	EnableRedundancyZones   bool
	DisableUpgradeMigration bool
	EnableCustomUpgrades    bool

	CreateIndex, ModifyIndex uint64
}

// Bounds of the autopilot settings: wide enough for any real network,
// narrow enough that a typo cannot switch health checking off.
const (
	MaxAutopilotLastContact   = time.Minute
	MaxAutopilotStabilization = time.Hour
	MaxAutopilotTrailingLogs  = 1 << 20
	MaxAutopilotMinQuorum     = 11
	minAutopilotLastContact   = 10 * time.Millisecond
)

// DefaultAutopilotConfig is autopilot's configuration until an operator sets
// one: Nomad's defaults.
func DefaultAutopilotConfig() *AutopilotConfig {
	return &AutopilotConfig{
		CleanupDeadServers:      true,
		LastContactThreshold:    200 * time.Millisecond,
		MaxTrailingLogs:         250,
		ServerStabilizationTime: 10 * time.Second,
	}
}

// Validate reports every setting out of bounds and every Enterprise
// feature turned on.
func (c *AutopilotConfig) Validate() error {
	var errs []error
	if c.LastContactThreshold < minAutopilotLastContact || c.LastContactThreshold > MaxAutopilotLastContact {
		errs = append(errs, fmt.Errorf("LastContactThreshold %s: must be from %s to %s", c.LastContactThreshold, minAutopilotLastContact, MaxAutopilotLastContact))
	}
	if c.MaxTrailingLogs < 1 || c.MaxTrailingLogs > MaxAutopilotTrailingLogs {
		errs = append(errs, fmt.Errorf("MaxTrailingLogs %d: must be from 1 to %d", c.MaxTrailingLogs, MaxAutopilotTrailingLogs))
	}
	if c.ServerStabilizationTime < 0 || c.ServerStabilizationTime > MaxAutopilotStabilization {
		errs = append(errs, fmt.Errorf("ServerStabilizationTime %s: must be from 0s to %s", c.ServerStabilizationTime, MaxAutopilotStabilization))
	}
	if c.MinQuorum > MaxAutopilotMinQuorum {
		errs = append(errs, fmt.Errorf("MinQuorum %d: must be at most %d", c.MinQuorum, MaxAutopilotMinQuorum))
	}
	for _, f := range []struct {
		name string
		on   bool
	}{
		{"EnableRedundancyZones", c.EnableRedundancyZones},
		{"DisableUpgradeMigration", c.DisableUpgradeMigration},
		{"EnableCustomUpgrades", c.EnableCustomUpgrades},
	} {
		if f.on {
			errs = append(errs, fmt.Errorf("%s: a Nomad Enterprise feature roam does not have", f.name))
		}
	}
	return errors.Join(errs...)
}

// AutopilotSetConfigRequest replaces the autopilot configuration; with CAS
// only if its ModifyIndex is still Config.ModifyIndex.
type AutopilotSetConfigRequest struct {
	Config AutopilotConfig
	CAS    bool
	WriteRequest
}

// AutopilotSetConfigResponse says whether the configuration was replaced
// (false only when a CAS lost).
type AutopilotSetConfigResponse struct {
	Updated bool
	Index   uint64
}
