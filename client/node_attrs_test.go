package client

import (
	"os"
	"testing"

	"github.com/roam-sh/roam/structs"
)

// TestNodeAttributesDeclared builds the node as the client does, with the
// real built-in drivers (those this host can run report their attributes),
// and fails on any attribute name that structs/node_attrs.go does not
// declare: besides the host fingerprinters it covers the agent's own
// attributes and what drivers write.
func TestNodeAttributesDeclared(t *testing.T) {
	cfg, err := testConfig(t, newFakeServer(), t.TempDir()).withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	cfg.HTTPAddr = "127.0.0.1:4646"
	if err := os.MkdirAll(cfg.AllocDir, 0o755); err != nil {
		t.Fatal(err)
	}
	reg, err := buildDrivers(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	n, late, err := buildNode(&cfg, structs.GenerateUUID(), structs.GenerateUUID(), reg, nil, firstFingerprintWait)
	if err != nil {
		t.Fatal(err)
	}
	for r := range late {
		applyDriverResult(n, r)
	}
	for k := range n.Attributes {
		if !structs.IsDeclaredNodeAttr(k) {
			t.Errorf("the node carries attribute %q, which structs/node_attrs.go does not declare", k)
		}
	}
	for name, d := range n.Drivers {
		for k := range d.Attributes {
			if !structs.IsDeclaredNodeAttr(k) {
				t.Errorf("driver %s reports attribute %q, which structs/node_attrs.go does not declare", name, k)
			}
		}
	}
	for _, want := range []string{structs.AttrDriver("raw_exec"), structs.AttrNomadAdvertiseAddr} {
		if n.Attributes[want] == "" {
			t.Errorf("attribute %q missing: %v", want, n.Attributes)
		}
	}
}
