package doctor

import "testing"

func TestPluginList(t *testing.T) {
	for _, tc := range []struct {
		name     string
		versions map[string]string
		want     string
	}{
		{"versions", map[string]string{"portmap": "1.1.1", "bridge": "1.1.1"}, "bridge 1.1.1, portmap 1.1.1"},
		{"debian builds say none", map[string]string{"portmap": "unknown", "bridge": "unknown"}, "bridge, portmap (2 of 2 report no version)"},
		{"mixed", map[string]string{"bridge": "unknown", "tuning": "1.4.0"}, "bridge, tuning 1.4.0 (1 of 2 report no version)"},
	} {
		if got := pluginList(tc.versions); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
