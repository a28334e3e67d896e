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

// ReadSnapshotArchive checks an archive (every file present, checksums
// matching, sizes within MaxSnapshotSize) and returns its meta and state.
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
		if hdr.Size > MaxSnapshotSize || len(files) >= 3 {
			return meta, nil, fmt.Errorf("snapshot archive: unexpected file %q", hdr.Name)
		}
		b, err := io.ReadAll(io.LimitReader(tr, MaxSnapshotSize))
		if err != nil {
			return meta, nil, fmt.Errorf("snapshot archive: read %s: %w", hdr.Name, err)
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
