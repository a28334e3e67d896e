package agent

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/roam-sh/roam/client/artifact"
)

// fileArtifact is the client `artifact` block, with Nomad's names.
type fileArtifact struct {
	DisableFilesystemIsolation *bool   `hcl:"disable_filesystem_isolation,optional"`
	HTTPReadTimeout            *string `hcl:"http_read_timeout,optional"`
	HTTPMaxSize                *string `hcl:"http_max_size,optional"`
	DecompressionLimitSize     *string `hcl:"decompression_limit_size,optional"`
	DecompressionLimitFileCnt  *int    `hcl:"decompression_limit_file_count,optional"`
	// Nomad's timeouts of getters roam does not have (their sources are
	// refused): accepted so Nomad client configs load, and unused.
	GCSTimeout *string `hcl:"gcs_timeout,optional"`
	GitTimeout *string `hcl:"git_timeout,optional"`
	HgTimeout  *string `hcl:"hg_timeout,optional"`
	S3Timeout  *string `hcl:"s3_timeout,optional"`
}

// apply sets the block's keys on dst.
func (f *fileArtifact) apply(dst *artifact.Config) error {
	if f == nil {
		return nil
	}
	setBool(&dst.DisableFilesystemIsolation, f.DisableFilesystemIsolation)
	if err := setDuration(&dst.HTTPReadTimeout, f.HTTPReadTimeout, "client.artifact.http_read_timeout"); err != nil {
		return err
	}
	for _, s := range []struct {
		dst *int64
		src *string
		key string
	}{
		{&dst.HTTPMaxSize, f.HTTPMaxSize, "client.artifact.http_max_size"},
		{&dst.DecompressionLimitSize, f.DecompressionLimitSize, "client.artifact.decompression_limit_size"},
	} {
		if s.src == nil {
			continue
		}
		n, err := parseByteSize(*s.src)
		if err != nil {
			return fmt.Errorf("%s: %w", s.key, err)
		}
		*s.dst = n
	}
	setInt(&dst.DecompressionLimitFileCount, f.DecompressionLimitFileCnt)
	if dst.DecompressionLimitFileCount < 0 || dst.HTTPReadTimeout < 0 {
		return fmt.Errorf("client.artifact: limits must not be negative")
	}
	return nil
}

// byteUnits are the suffixes parseByteSize takes, SI and binary, as Nomad.
var byteUnits = map[string]int64{
	"": 1, "b": 1,
	"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
}

// parseByteSize reads "100GB", "512MiB" or a plain byte count.
func parseByteSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return r < '0' || r > '9' })
	if i < 0 {
		i = len(t)
	}
	mult, ok := byteUnits[strings.ToLower(strings.TrimSpace(t[i:]))]
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if !ok || err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a size (use e.g. \"100GB\", \"512MiB\")", s)
	}
	if n > math.MaxInt64/mult {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n * mult, nil
}
