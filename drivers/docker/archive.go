package docker

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// imageArchive is a one-layer image from scratch in the form `docker save`
// writes and ImageLoad reads: manifest.json, the image config and the layer.
// roam builds its pause image this way, without a registry or a builder.
type imageArchive struct {
	Tag        string
	Arch       string
	Entrypoint []string
	Files      []archiveFile
}

// archiveFile is one regular file of the layer.
type archiveFile struct {
	Path string // without a leading "/"
	Mode int64
	Data []byte
}

// epoch is the modification time of every file, so that one program always
// gives one image ID.
var epoch = time.Unix(0, 0).UTC()

// write writes the archive to w.
func (a *imageArchive) write(w io.Writer) error {
	layer, err := a.layer()
	if err != nil {
		return err
	}
	sum := sha256.Sum256(layer)
	diffID := "sha256:" + hex.EncodeToString(sum[:])
	cfg, err := json.Marshal(map[string]any{
		"architecture": a.Arch, "os": "linux", "created": epoch,
		"config": map[string]any{"Entrypoint": a.Entrypoint},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{diffID}},
	})
	if err != nil {
		return err
	}
	cfgSum := sha256.Sum256(cfg)
	cfgName := hex.EncodeToString(cfgSum[:]) + ".json"
	layerName := hex.EncodeToString(sum[:]) + "/layer.tar"
	manifest, err := json.Marshal([]map[string]any{{"Config": cfgName, "RepoTags": []string{a.Tag}, "Layers": []string{layerName}}})
	if err != nil {
		return err
	}
	return writeTar(w, []archiveFile{
		{Path: cfgName, Mode: 0o644, Data: cfg},
		{Path: layerName, Mode: 0o644, Data: layer},
		{Path: "manifest.json", Mode: 0o644, Data: manifest},
	})
}

func (a *imageArchive) layer() ([]byte, error) {
	var buf bytes.Buffer
	if err := writeTar(&buf, a.Files); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeTar writes files (and the directories their paths need) as a tar.
func writeTar(w io.Writer, files []archiveFile) error {
	tw := tar.NewWriter(w)
	dirs := map[string]bool{}
	for _, f := range files {
		if err := writeParents(tw, f.Path, dirs); err != nil {
			return err
		}
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: f.Path, Mode: f.Mode, Size: int64(len(f.Data)), ModTime: epoch, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("image archive: %w", err)
		}
		if _, err := tw.Write(f.Data); err != nil {
			return fmt.Errorf("image archive: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("image archive: %w", err)
	}
	return nil
}

func writeParents(tw *tar.Writer, path string, done map[string]bool) error {
	for i := range len(path) {
		if path[i] != '/' || done[path[:i]] {
			continue
		}
		done[path[:i]] = true
		hdr := &tar.Header{Typeflag: tar.TypeDir, Name: path[:i+1], Mode: 0o755, ModTime: epoch, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("image archive: %w", err)
		}
	}
	return nil
}
