package rawexec

import (
	"fmt"

	"github.com/roam-sh/roam/drivers"
)

// PluginConfig is the client's plugin "raw_exec" { config { ... } } block.
type PluginConfig struct {
	Enabled bool `config:"enabled"`
	// NoCgroups is accepted for compatibility; raw_exec uses no cgroups yet.
	NoCgroups bool `config:"no_cgroups"`
}

// TaskConfig is a raw_exec task's config block.
type TaskConfig struct {
	Command string   `config:"command,required"`
	Args    []string `config:"args"`
	// WorkDir is the task's working directory; relative paths are taken from
	// the task dir, which is also the default.
	WorkDir string `config:"work_dir"`
	// OOMScoreAdj and the cgroup overrides are accepted for compatibility.
	OOMScoreAdj      int    `config:"oom_score_adj"`
	CgroupV1Override string `config:"cgroup_v1_override"`
	CgroupV2Override string `config:"cgroup_v2_override"`
}

// ParsePluginConfig decodes the plugin block; nil means the defaults.
func ParsePluginConfig(raw map[string]any) (PluginConfig, error) {
	var c PluginConfig
	if err := drivers.DecodeConfig(raw, &c); err != nil {
		return c, fmt.Errorf("raw_exec plugin config: %w", err)
	}
	return c, nil
}

// ValidateTaskConfig checks a raw_exec task's config without a node: keys,
// types and the required command. The servers answer `job validate` with it.
func ValidateTaskConfig(raw map[string]any) error {
	var tc TaskConfig
	return drivers.DecodeConfig(raw, &tc)
}
