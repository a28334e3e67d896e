package structs

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// A snapshot archive (`roam operator snapshot save`) is a gzip'd tar of
// three files: meta.json (SnapshotMeta), state.bin (the state store's own
// snapshot, what Raft's snapshots hold) and SHA256SUMS of both. The state
// includes everything the cluster's data depends on: jobs, allocations,
// nodes, evaluations, variables and the root keys that sign identities and
// encrypt variables (and whatever other tables the snapshot list names).

const (
	snapshotMetaFile  = "meta.json"
	snapshotStateFile = "state.bin"
	snapshotSumsFile  = "SHA256SUMS"
	// MaxSnapshotSize bounds an archive a server accepts to restore, and
	// one it produces.
	MaxSnapshotSize = 1 << 30
)

// SnapshotMeta describes a snapshot archive. Its JSON (meta.json) has the
// fields of Raft's own snapshot meta, so Nomad's tools read it too; the
// last two are roam's.
type SnapshotMeta struct {
	// Version is the snapshot format (Raft's SnapshotVersion, 1).
	Version int
	ID      string
	Index   uint64
	Term    uint64
	Size    int64
	// ServerVersion is the version the saving server reports.
	ServerVersion string
	CreateTime    time.Time
}

// WriteSnapshotArchive builds an archive of a state snapshot.
func WriteSnapshotArchive(meta SnapshotMeta, st []byte) ([]byte, error) {
	metaJSON, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return nil, err
	}
	sums := fmt.Sprintf("%x  %s\n%x  %s\n", sha256.Sum256(metaJSON), snapshotMetaFile, sha256.Sum256(st), snapshotStateFile)
	var out bytes.Buffer
	gz := gzip.NewWriter(&out)
	tw := tar.NewWriter(gz)
	for _, f := range []struct {
		name string
		data []byte
	}{{snapshotMetaFile, metaJSON}, {snapshotStateFile, st}, {snapshotSumsFile, []byte(sums)}} {
		hdr := &tar.Header{Name: f.name, Mode: 0o600, Size: int64(len(f.data)), ModTime: meta.CreateTime}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// snapshotFileLimits bounds each file of an archive after decompression:
// a few kilobytes of gzip can expand to gigabytes, so the small files get
// small limits and the state gets MaxSnapshotSize; any other name is
// refused.
var snapshotFileLimits = map[string]int64{
	snapshotMetaFile:  64 << 10,
	snapshotSumsFile:  4 << 10,
	snapshotStateFile: MaxSnapshotSize,
}

// ReadSnapshotArchive checks an archive (exactly the three files, each
// within its decompressed limit, checksums matching) and returns its meta
// and state.
func ReadSnapshotArchive(r io.Reader) (SnapshotMeta, []byte, error) {
	var meta SnapshotMeta
	gz, err := gzip.NewReader(io.LimitReader(r, MaxSnapshotSize))
	if err != nil {
		return meta, nil, fmt.Errorf("not a snapshot archive (gzip): %w", err)
	}
	files := map[string][]byte{}
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return meta, nil, fmt.Errorf("not a snapshot archive (tar): %w", err)
		}
		limit, known := snapshotFileLimits[hdr.Name]
		if _, dup := files[hdr.Name]; !known || dup {
			return meta, nil, fmt.Errorf("snapshot archive: unexpected file %q", hdr.Name)
		}
		if hdr.Size > limit {
			return meta, nil, fmt.Errorf("snapshot archive: %s is %d bytes, more than its limit of %d", hdr.Name, hdr.Size, limit)
		}
		b, err := io.ReadAll(io.LimitReader(tr, limit+1))
		if err != nil {
			return meta, nil, fmt.Errorf("snapshot archive: read %s: %w", hdr.Name, err)
		}
		if int64(len(b)) > limit {
			return meta, nil, fmt.Errorf("snapshot archive: %s is more than its limit of %d bytes", hdr.Name, limit)
		}
		files[hdr.Name] = b
	}
	if err := checkSnapshotSums(files); err != nil {
		return meta, nil, err
	}
	if err := json.Unmarshal(files[snapshotMetaFile], &meta); err != nil {
		return meta, nil, fmt.Errorf("snapshot archive: %s: %w", snapshotMetaFile, err)
	}
	return meta, files[snapshotStateFile], nil
}

// checkSnapshotSums verifies meta.json and state.bin against SHA256SUMS.
func checkSnapshotSums(files map[string][]byte) error {
	for _, name := range []string{snapshotMetaFile, snapshotStateFile, snapshotSumsFile} {
		if _, ok := files[name]; !ok {
			return fmt.Errorf("snapshot archive: no %s", name)
		}
	}
	want := map[string]string{}
	for _, line := range bytes.Split(bytes.TrimSpace(files[snapshotSumsFile]), []byte("\n")) {
		sum, name, ok := bytes.Cut(line, []byte("  "))
		if ok {
			want[string(name)] = string(sum)
		}
	}
	for _, name := range []string{snapshotMetaFile, snapshotStateFile} {
		got := sha256.Sum256(files[name])
		if want[name] != hex.EncodeToString(got[:]) {
			return fmt.Errorf("snapshot archive: %s does not match its checksum (corrupt or altered)", name)
		}
	}
	return nil
}
