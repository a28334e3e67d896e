package stdlog

import (
	"bytes"
	"log"
	"log/slog"
	"os"
	"strings"
	"testing"
)

// Lines printed through the standard logger reach the slog logger at the
// level their prefix names; lines below its level are dropped.
func TestRedirect(t *testing.T) {
	var buf bytes.Buffer
	Redirect(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})))
	t.Cleanup(func() { log.SetOutput(os.Stderr); log.SetFlags(log.LstdFlags) })
	log.Printf("[DEBUG] (runner) checking template abc")
	log.Printf("[WARN] (runner) watching 200 dependencies")
	log.Printf("plain line")
	out := buf.String()
	if strings.Contains(out, "checking template") {
		t.Errorf("debug line not dropped:\n%s", out)
	}
	for _, want := range []string{`level=WARN msg="(runner) watching 200 dependencies"`, `level=INFO msg="plain line"`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
}
