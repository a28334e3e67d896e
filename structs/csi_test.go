package structs

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// A csi_plugin block is validated as Nomad validates it, and gets Nomad's
// defaults.
func TestCSIPluginConfig(t *testing.T) {
	const prefix = `Task group "web": Task "app": CSI plugin: `
	cases := []struct {
		name string
		cfg  TaskCSIPluginConfig
		want []string
	}{
		{"valid", TaskCSIPluginConfig{ID: "hostpath", Type: CSIPluginTypeNode}, nil},
		{"no id", TaskCSIPluginConfig{Type: CSIPluginTypeController}, []string{"id must not be empty"}},
		{"bad type", TaskCSIPluginConfig{ID: "x", Type: "sidecar"}, []string{`unknown csi_plugin type "sidecar"`}},
		{"stage dir inside mount dir", TaskCSIPluginConfig{ID: "x", Type: CSIPluginTypeMonolith, MountDir: "/csi", StagePublishBaseDir: "/csi/stage"},
			[]string{`stage_publish_base_dir "/csi/stage" must not be inside mount_dir "/csi"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j := validJob()
			cfg := c.cfg
			j.TaskGroups[0].Tasks[0].CSIPluginConfig = &cfg
			j.Canonicalize()
			var got []string
			if err := j.Validate(); err != nil {
				for _, p := range err.(*ValidationError).Problems {
					if s, ok := strings.CutPrefix(p, prefix); ok {
						got = append(got, s)
					}
				}
			}
			if len(got) != len(c.want) || !slices.EqualFunc(got, c.want, strings.HasPrefix) {
				t.Fatalf("problems %q, want %q", got, c.want)
			}
		})
	}
	j := validJob()
	j.TaskGroups[0].Tasks[0].CSIPluginConfig = &TaskCSIPluginConfig{ID: "hostpath", Type: CSIPluginTypeNode}
	j.Canonicalize()
	if c := j.TaskGroups[0].Tasks[0].CSIPluginConfig; c.MountDir != "/csi" || c.StagePublishBaseDir != "/local/csi" || c.HealthTimeout != 30*time.Second {
		t.Fatalf("defaults %+v", c)
	}
}
