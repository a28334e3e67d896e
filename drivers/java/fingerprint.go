package java

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	osexec "os/exec"
	"strings"
	"sync"
	"time"

	"github.com/roam-sh/roam/drivers"
)

// versionTimeout bounds `java -version`.
const versionTimeout = 10 * time.Second

// fingerprinter runs `java -version` when the java binary is new or has
// changed, and remembers the answer: starting a JVM every fingerprint
// interval would be wasteful.
type fingerprinter struct {
	lookPath func(string) (string, error)
	mu       sync.Mutex
	key      string // path and modification time of the java binary
	last     *drivers.Fingerprint
}

func newFingerprinter() *fingerprinter {
	return &fingerprinter{lookPath: osexec.LookPath}
}

func (f *fingerprinter) fingerprint(ctx context.Context) *drivers.Fingerprint {
	path, err := f.lookPath("java")
	if err != nil {
		return &drivers.Fingerprint{Health: drivers.HealthStateUndetected, HealthDescription: "java not found on PATH"}
	}
	key := path
	if fi, err := os.Stat(path); err == nil {
		key += "@" + fi.ModTime().String()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.last != nil && f.key == key {
		return copyFingerprint(f.last)
	}
	f.key, f.last = key, probe(ctx, path)
	return copyFingerprint(f.last)
}

func probe(ctx context.Context, path string) *drivers.Fingerprint {
	ctx, cancel := context.WithTimeout(ctx, versionTimeout)
	defer cancel()
	var out bytes.Buffer
	cmd := osexec.CommandContext(ctx, path, "-version")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return &drivers.Fingerprint{
			Health:            drivers.HealthStateUndetected,
			HealthDescription: fmt.Sprintf("%s -version failed: %v", path, err),
		}
	}
	v, err := parseVersion(out.String())
	if err != nil {
		return &drivers.Fingerprint{Health: drivers.HealthStateUndetected, HealthDescription: err.Error()}
	}
	return &drivers.Fingerprint{
		Health: drivers.HealthStateHealthy, HealthDescription: "Healthy",
		Attributes: map[string]string{
			"driver.java": "1", "driver.java.version": v.version, "driver.java.runtime": v.runtime, "driver.java.vm": v.vm,
		},
	}
}

type javaVersion struct{ version, runtime, vm string }

// parseVersion reads `java -version` output: a version line with the
// version in quotes, then the runtime and the VM. Lines the JVM prints
// about picked-up options come first and are skipped.
func parseVersion(out string) (javaVersion, error) {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "Picked up ") {
			lines = append(lines, l)
		}
	}
	if len(lines) < 3 {
		return javaVersion{}, fmt.Errorf("unexpected java -version output %q", out)
	}
	_, rest, ok := strings.Cut(lines[0], `"`)
	ver, _, ok2 := strings.Cut(rest, `"`)
	if !ok || !ok2 || ver == "" {
		return javaVersion{}, fmt.Errorf("no version in java -version output %q", lines[0])
	}
	return javaVersion{version: ver, runtime: lines[1], vm: lines[2]}, nil
}

func copyFingerprint(fp *drivers.Fingerprint) *drivers.Fingerprint {
	out := *fp
	out.Attributes = maps.Clone(fp.Attributes)
	return &out
}
