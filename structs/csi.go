package structs

import (
	"path/filepath"
	"strings"
	"time"
)

// CSIPluginType is how a csi_plugin task serves its plugin.
type CSIPluginType string

const (
	CSIPluginTypeNode       CSIPluginType = "node"
	CSIPluginTypeController CSIPluginType = "controller"
	CSIPluginTypeMonolith   CSIPluginType = "monolith"
)

func (t CSIPluginType) String() string { return string(t) }

// ParseCSIPluginType accepts node, controller and monolith.
func ParseCSIPluginType(s string) (CSIPluginType, error) {
	return parseEnum("csi_plugin type", s, []CSIPluginType{CSIPluginTypeNode, CSIPluginTypeController, CSIPluginTypeMonolith})
}

// TaskCSIPluginConfig is a task's csi_plugin block: the task is the CSI
// plugin ID. roam parses and validates it as Nomad does, and warns that it
// registers no CSI plugins (Job.Warnings), so jobs written for Nomad load.
type TaskCSIPluginConfig struct {
	ID   string
	Type CSIPluginType
	// MountDir is where the plugin creates its socket, inside the task.
	MountDir string
	// StagePublishBaseDir is where the plugin stages and publishes volumes.
	StagePublishBaseDir string
	HealthTimeout       time.Duration
}

// Defaults of a csi_plugin block, as Nomad's.
const (
	DefaultCSIMountDir            = "/csi"
	DefaultCSIStagePublishBaseDir = "/local/csi"
	DefaultCSIHealthTimeout       = 30 * time.Second
)

func (c *TaskCSIPluginConfig) canonicalize() {
	if c.MountDir == "" {
		c.MountDir = DefaultCSIMountDir
	}
	if c.StagePublishBaseDir == "" {
		c.StagePublishBaseDir = DefaultCSIStagePublishBaseDir
	}
	if c.HealthTimeout == 0 {
		c.HealthTimeout = DefaultCSIHealthTimeout
	}
}

func (c *TaskCSIPluginConfig) validate(p problems) {
	if c.ID == "" {
		p.addf("id must not be empty")
	}
	if _, err := ParseCSIPluginType(string(c.Type)); err != nil {
		p.addf("%v", err)
	}
	if c.HealthTimeout < 0 {
		p.addf("health_timeout must not be negative")
	}
	if c.MountDir != "" && c.StagePublishBaseDir != "" && isSubdir(c.MountDir, c.StagePublishBaseDir) {
		p.addf("stage_publish_base_dir %q must not be inside mount_dir %q", c.StagePublishBaseDir, c.MountDir)
	}
}

// isSubdir reports whether dir is base or below it.
func isSubdir(base, dir string) bool {
	rel, err := filepath.Rel(filepath.Clean(base), filepath.Clean(dir))
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}
