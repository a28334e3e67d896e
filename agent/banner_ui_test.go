package agent

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestBannerNamesTheUI: the agent's start banner gives the web UI's
// address, where a new operator looks first.
func TestBannerNamesTheUI(t *testing.T) {
	a := testAgent(t, func(c *Config) { c.Client.Enabled = false })
	var out bytes.Buffer
	printBanner(&out, a, time.Second)
	if want := "Web UI: http://" + a.HTTPAddr() + "/ui/"; !strings.Contains(out.String(), want) {
		t.Errorf("banner lacks %q:\n%s", want, out.String())
	}
}
