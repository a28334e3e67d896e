package agent

import (
	"strings"
	"testing"
	"time"
)

func TestArtifactConfigKeys(t *testing.T) {
	c := DefaultConfig()
	if c.Client.Artifact.DisableFilesystemIsolation {
		t.Fatal("local artifact sources allowed by default")
	}
	p := writeFile(t, t.TempDir(), "artifact.hcl", `
client {
  artifact {
    disable_filesystem_isolation   = true
    http_read_timeout              = "5m"
    http_max_size                  = "1GB"
    decompression_limit_size       = "512MiB"
    decompression_limit_file_count = 100
    git_timeout                    = "10m"
  }
}
`)
	if err := loadConfigPaths(c, []string{p}); err != nil {
		t.Fatal(err)
	}
	a := c.Client.Artifact
	if !a.DisableFilesystemIsolation || a.HTTPReadTimeout != 5*time.Minute || a.HTTPMaxSize != 1e9 ||
		a.DecompressionLimitSize != 512<<20 || a.DecompressionLimitFileCount != 100 {
		t.Fatalf("parsed %+v", a)
	}
	for _, bad := range []string{`http_max_size = "lots"`, `decompression_limit_size = "99999999999TB"`, `http_max_size = "-1"`, `decompression_limit_file_count = -1`} {
		c := DefaultConfig()
		p := writeFile(t, t.TempDir(), "bad.hcl", "client {\n artifact {\n "+bad+"\n }\n}\n")
		if err := loadConfigPaths(c, []string{p}); err == nil || !strings.Contains(err.Error(), "artifact") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
