package structs

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"strings"
	"testing"
)

// A small archive whose files expand far beyond what they may hold is
// refused by the file's limit, before it is read whole: a few kilobytes
// uploaded must not cost the leader gigabytes.
func TestReadSnapshotArchiveRefusesExpansion(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int64
		want string
	}{
		{snapshotMetaFile, 8 << 20, "meta.json is 8388608 bytes, more than its limit"},
		{snapshotSumsFile, 1 << 20, "SHA256SUMS is 1048576 bytes, more than its limit"},
		{"extra.bin", 10, `unexpected file "extra.bin"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			gz := gzip.NewWriter(&buf)
			tw := tar.NewWriter(gz)
			if err := tw.WriteHeader(&tar.Header{Name: tc.name, Mode: 0o600, Size: tc.size}); err != nil {
				t.Fatal(err)
			}
			zeros := make([]byte, 64<<10)
			for left := tc.size; left > 0; left -= int64(len(zeros)) {
				if _, err := tw.Write(zeros[:min(left, int64(len(zeros)))]); err != nil {
					t.Fatal(err)
				}
			}
			tw.Close()
			gz.Close()
			_, _, err := ReadSnapshotArchive(&buf)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("archive with %s of %d bytes: %v, want %q", tc.name, tc.size, err, tc.want)
			}
		})
	}
}
