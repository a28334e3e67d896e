package drivers

import (
	"strings"
	"testing"
	"time"
)

type sampleConfig struct {
	Command string            `config:"command,required"`
	Args    []string          `config:"args"`
	Count   int               `config:"count"`
	Debug   bool              `config:"debug"`
	Wait    time.Duration     `config:"wait"`
	Labels  map[string]string `config:"labels"`
	Mount   []sampleMount     `config:"mount"`
	Log     *sampleLog        `config:"logging"`
	ignored string
}

type sampleMount struct {
	Source string `config:"source"`
	Target string `config:"target"`
}

type sampleLog struct {
	Type string `config:"type"`
}

func TestDecodeConfig(t *testing.T) {
	raw := map[string]any{
		"command": "/bin/echo",
		"args":    []any{"a", "b"},
		"count":   int64(3),
		"debug":   true,
		"wait":    "2s",
		"labels":  map[string]any{"x": "y"},
		"mount":   []any{map[string]any{"source": "/a", "target": "/b"}},
		"logging": []any{map[string]any{"type": "json"}},
	}
	var c sampleConfig
	if err := DecodeConfig(raw, &c); err != nil {
		t.Fatal(err)
	}
	if c.Command != "/bin/echo" || len(c.Args) != 2 || c.Count != 3 || !c.Debug || c.Wait != 2*time.Second {
		t.Fatalf("decoded %+v", c)
	}
	if c.Labels["x"] != "y" || c.Mount[0].Target != "/b" || c.Log == nil || c.Log.Type != "json" {
		t.Fatalf("decoded %+v", c)
	}
}

func TestDecodeConfigJSONNumbers(t *testing.T) {
	var c sampleConfig
	if err := DecodeConfig(map[string]any{"command": "x", "count": float64(7)}, &c); err != nil {
		t.Fatal(err)
	}
	if c.Count != 7 {
		t.Fatalf("count = %d", c.Count)
	}
}

func TestDecodeConfigErrors(t *testing.T) {
	raw := map[string]any{
		"comand": "/bin/echo",
		"args":   "a b",
		"count":  1.5,
		"mount":  []any{map[string]any{"src": "/a"}},
	}
	var c sampleConfig
	err := DecodeConfig(raw, &c)
	if err == nil {
		t.Fatal("want error")
	}
	for _, want := range []string{
		`comand: unknown key (valid keys: args, command, count, debug, labels, logging, mount, wait)`,
		`command: missing required key`,
		`args: want list, got string`,
		`count: want integer, got number`,
		`mount[0].src: unknown key (valid keys: source, target)`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestParseSignal(t *testing.T) {
	for _, name := range []string{"SIGTERM", "sigterm", "TERM"} {
		s, err := ParseSignal(name, 0)
		if err != nil || s.String() != "terminated" {
			t.Errorf("%s: %v %v", name, s, err)
		}
	}
	if _, err := ParseSignal("SIGNOPE", 0); err == nil {
		t.Error("want error for unknown signal")
	}
}

type sharedOptions struct {
	WorkDir string   `config:"work_dir"`
	CapAdd  []string `config:"cap_add"`
}

type withShared struct {
	Class string `config:"class,required"`
	sharedOptions
}

// TestDecodeEmbeddedStruct: an untagged embedded struct's keys belong to the
// outer config, and unknown-key errors list them.
func TestDecodeEmbeddedStruct(t *testing.T) {
	var c withShared
	err := DecodeConfig(map[string]any{"class": "Main", "work_dir": "local", "cap_add": []any{"net_raw"}}, &c)
	if err != nil || c.Class != "Main" || c.WorkDir != "local" || len(c.CapAdd) != 1 {
		t.Fatalf("decode %+v %v", c, err)
	}
	err = DecodeConfig(map[string]any{"class": "Main", "workdir": "x"}, &c)
	if err == nil || !strings.Contains(err.Error(), "valid keys: cap_add, class, work_dir") {
		t.Fatalf("unknown key: %v", err)
	}
}
