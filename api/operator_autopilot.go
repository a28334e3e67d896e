package api

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// AutopilotConfiguration is /v1/operator/autopilot/configuration: how the
// leader's autopilot judges and manages the servers. The two durations are
// Go duration strings on the wire ("200ms"), as in Nomad.
type AutopilotConfiguration struct {
	CleanupDeadServers      bool
	LastContactThreshold    time.Duration
	MaxTrailingLogs         uint64
	MinQuorum               uint
	ServerStabilizationTime time.Duration
	// Nomad Enterprise's features: roam refuses them turned on.
	EnableRedundancyZones   bool
	DisableUpgradeMigration bool
	EnableCustomUpgrades    bool
	CreateIndex             uint64
	ModifyIndex             uint64
}

type autopilotAlias AutopilotConfiguration

type autopilotJSON struct {
	LastContactThreshold    string
	ServerStabilizationTime string
	*autopilotAlias
}

// MarshalJSON writes the durations as strings.
func (c AutopilotConfiguration) MarshalJSON() ([]byte, error) {
	a := autopilotAlias(c)
	return json.Marshal(autopilotJSON{
		LastContactThreshold:    c.LastContactThreshold.String(),
		ServerStabilizationTime: c.ServerStabilizationTime.String(),
		autopilotAlias:          &a,
	})
}

// UnmarshalJSON reads the durations from strings; an absent one stays as
// it was.
func (c *AutopilotConfiguration) UnmarshalJSON(b []byte) error {
	aux := autopilotJSON{autopilotAlias: (*autopilotAlias)(c)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		in   string
		out  *time.Duration
	}{
		{"LastContactThreshold", aux.LastContactThreshold, &c.LastContactThreshold},
		{"ServerStabilizationTime", aux.ServerStabilizationTime, &c.ServerStabilizationTime},
	} {
		if f.in == "" {
			continue
		}
		d, err := time.ParseDuration(f.in)
		if err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
		*f.out = d
	}
	return nil
}

// AutopilotGetConfiguration is the autopilot configuration in force.
func (o *Operator) AutopilotGetConfiguration(q *QueryOptions) (*AutopilotConfiguration, error) {
	var out AutopilotConfiguration
	if _, err := o.c.query("/v1/operator/autopilot/configuration", &out, q); err != nil {
		return nil, err
	}
	return &out, nil
}

// AutopilotSetConfiguration replaces the autopilot configuration.
func (o *Operator) AutopilotSetConfiguration(conf *AutopilotConfiguration) error {
	var ok bool
	_, err := o.c.write("PUT", "/v1/operator/autopilot/configuration", conf, &ok, nil)
	return err
}

// AutopilotCASConfiguration replaces the configuration only if its
// ModifyIndex is still conf.ModifyIndex; it reports whether it did.
func (o *Operator) AutopilotCASConfiguration(conf *AutopilotConfiguration) (bool, error) {
	var ok bool
	_, err := o.c.write("PUT", "/v1/operator/autopilot/configuration?cas="+strconv.FormatUint(conf.ModifyIndex, 10), conf, &ok, nil)
	return ok, err
}
