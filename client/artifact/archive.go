package artifact

import (
	"archive/tar"
	"archive/zip"
	"compress/bzip2"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Archive kinds, by file name suffix.
const (
	kindTar    = "tar"
	kindTarGz  = "tar.gz"
	kindTarBz2 = "tar.bz2"
	kindZip    = "zip"
	kindGz     = "gz"
)

// archiveKind recognises an archive by its name; "" for anything else.
func archiveKind(name string) string {
	n := strings.ToLower(name)
	switch {
	case strings.HasSuffix(n, ".tar.gz"), strings.HasSuffix(n, ".tgz"):
		return kindTarGz
	case strings.HasSuffix(n, ".tar.bz2"), strings.HasSuffix(n, ".tbz2"):
		return kindTarBz2
	case strings.HasSuffix(n, ".tar"):
		return kindTar
	case strings.HasSuffix(n, ".zip"):
		return kindZip
	case strings.HasSuffix(n, ".gz"):
		return kindGz
	}
	return ""
}

// unpackArchive unpacks the archive at local, whose source is named name,
// into dest inside root.
func unpackArchive(root *os.Root, local, name, dest, kind string, b *budget) error {
	if err := root.MkdirAll(dest, 0o755); err != nil {
		return fmt.Errorf("artifact: create %s: %w", dest, err)
	}
	if kind == kindZip {
		return unzip(root, local, dest, b)
	}
	f, err := os.Open(local)
	if err != nil {
		return fmt.Errorf("artifact: %w", err)
	}
	defer f.Close()
	var r io.Reader = f
	switch kind {
	case kindTarGz, kindGz:
		gz, err := gzip.NewReader(f)
		if err != nil {
			return fmt.Errorf("artifact: gzip: %w", err)
		}
		defer gz.Close()
		if kind == kindGz {
			// The source's name, not the temporary file's, less ".gz".
			name := strings.TrimSuffix(name, filepath.Ext(name))
			if gz.Name != "" {
				name = filepath.Base(gz.Name)
			}
			p, err := entryPath(dest, name)
			if err != nil || name == "." {
				return fmt.Errorf("artifact: gzip name %q is not a file name", name)
			}
			return writeFile(root, p, gz, 0o644, b)
		}
		r = gz
	case kindTarBz2:
		r = bzip2.NewReader(f)
	}
	return untar(root, tar.NewReader(r), dest, b)
}

// entryPath is where an archive entry goes, refusing names that would leave
// dest.
func entryPath(dest, name string) (string, error) {
	clean := filepath.Clean(filepath.FromSlash(name))
	if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("artifact: archive entry %q escapes the destination", name)
	}
	return filepath.Join(dest, clean), nil
}

// linkTarget checks that a symlink entry at p pointing at target stays
// inside dest; absolute targets are refused too.
func linkTarget(dest, p, target string) error {
	if filepath.IsAbs(target) {
		return fmt.Errorf("artifact: archive symlink %s -> %s is absolute", p, target)
	}
	resolved := filepath.Join(filepath.Dir(p), target)
	if rel, err := filepath.Rel(dest, resolved); err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return fmt.Errorf("artifact: archive symlink %s -> %s escapes the destination", p, target)
	}
	return nil
}

func untar(root *os.Root, tr *tar.Reader, dest string, b *budget) error {
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("artifact: tar: %w", err)
		}
		p, err := entryPath(dest, h.Name)
		if err != nil {
			return err
		}
		if err := noSymlinkOnTheWay(root, dest, p); err != nil {
			return err
		}
		if err := untarEntry(root, tr, h, dest, p, b); err != nil {
			return err
		}
	}
}

func untarEntry(root *os.Root, r io.Reader, h *tar.Header, dest, p string, b *budget) error {
	if h.Typeflag == tar.TypeReg {
		return writeFile(root, p, r, fs.FileMode(h.Mode).Perm(), b)
	}
	if err := b.entry(p); err != nil {
		return err
	}
	switch h.Typeflag {
	case tar.TypeDir:
		return root.MkdirAll(p, 0o755)
	case tar.TypeSymlink:
		if err := linkTarget(dest, p, h.Linkname); err != nil {
			return err
		}
		if err := root.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		_ = root.Remove(p)
		return root.Symlink(h.Linkname, p)
	case tar.TypeLink:
		target, err := entryPath(dest, h.Linkname)
		if err != nil {
			return err
		}
		if err := noSymlinkOnTheWay(root, dest, target); err != nil {
			return err
		}
		_ = root.Remove(p)
		return root.Link(target, p)
	}
	return nil // devices, fifos: not in artifacts
}

func unzip(root *os.Root, local, dest string, b *budget) error {
	zr, err := zip.OpenReader(local)
	if err != nil {
		return fmt.Errorf("artifact: zip: %w", err)
	}
	defer zr.Close()
	for _, zf := range zr.File {
		p, err := entryPath(dest, zf.Name)
		if err != nil {
			return err
		}
		if err := noSymlinkOnTheWay(root, dest, p); err != nil {
			return err
		}
		if err := unzipEntry(root, zf, p, b); err != nil {
			return err
		}
	}
	return nil
}

func unzipEntry(root *os.Root, zf *zip.File, p string, b *budget) error {
	if zf.FileInfo().IsDir() {
		if err := b.entry(p); err != nil {
			return err
		}
		return root.MkdirAll(p, 0o755)
	}
	if !zf.Mode().IsRegular() {
		return nil // symlinks in zips are rare; skip rather than trust them
	}
	rc, err := zf.Open()
	if err != nil {
		return fmt.Errorf("artifact: zip entry %s: %w", zf.Name, err)
	}
	defer rc.Close()
	return writeFile(root, p, rc, zf.Mode().Perm(), b)
}

// noSymlinkOnTheWay refuses an entry at p whose parent directories below
// dest include a symlink. Each symlink entry is checked lexically where it
// is made, but chained ones (d/l -> .., then d/l/l2 -> ..) resolve further
// up than their names say; writing only through real directories keeps
// every entry inside dest whatever links the archive made earlier.
func noSymlinkOnTheWay(root *os.Root, dest, p string) error {
	rel, err := filepath.Rel(dest, filepath.Dir(p))
	if err != nil || rel == "." {
		return nil
	}
	cur := dest
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		cur = filepath.Join(cur, part)
		fi, err := root.Lstat(cur)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // the rest is created as directories
		}
		if err != nil {
			return fmt.Errorf("artifact: archive entry %s: %w", p, err)
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("artifact: archive entry %s goes through the symlink %s", p, cur)
		}
	}
	return nil
}
