package artifact

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Mode is an artifact's `mode`.
type Mode string

const (
	// ModeAny unpacks archives and copies other files into the destination
	// directory.
	ModeAny Mode = "any"
	// ModeFile copies the source to the destination path as it is.
	ModeFile Mode = "file"
	// ModeDir unpacks an archive (or copies a directory) into the destination.
	ModeDir Mode = "dir"
)

// ParseMode accepts the three modes; "" is ModeAny.
func ParseMode(s string) (Mode, error) {
	switch Mode(s) {
	case "", ModeAny:
		return ModeAny, nil
	case ModeFile, ModeDir:
		return Mode(s), nil
	}
	return "", fmt.Errorf("artifact mode %q is not any, file or dir", s)
}

// ErrUnsupportedSource is returned for sources other than local paths,
// file:// and http(s):// URLs.
var ErrUnsupportedSource = errors.New("unsupported artifact source")

// Request is one artifact to fetch, already interpolated.
type Request struct {
	Source string
	// Destination is relative to TaskDir ("local/", "local/app.bin").
	Destination string
	Mode        Mode
	// Options: "checksum" ("sha256:<hex>"), "archive" ("false" keeps
	// archives packed).
	Options map[string]string
	// Headers are sent with HTTP requests.
	Headers map[string]string
	// TaskDir is the host path of the task's directory.
	TaskDir string
}

// Fetcher downloads artifacts. The zero value uses http.DefaultClient.
type Fetcher struct {
	HTTPClient *http.Client
}

// Fetch fetches one artifact into the task directory.
func (f *Fetcher) Fetch(ctx context.Context, req Request) error {
	dest, err := destination(req.Destination)
	if err != nil {
		return err
	}
	src, opts, err := parseSource(req.Source, req.Options)
	if err != nil {
		return err
	}
	sum, err := parseChecksum(opts["checksum"])
	if err != nil {
		return err
	}
	root, err := os.OpenRoot(req.TaskDir)
	if err != nil {
		return fmt.Errorf("open task dir: %w", err)
	}
	defer root.Close()
	local, cleanup, err := f.localCopy(ctx, src, req.Headers)
	if err != nil {
		return err
	}
	defer cleanup()
	fi, err := os.Stat(local)
	if err != nil {
		return fmt.Errorf("artifact %s: %w", req.Source, err)
	}
	if fi.IsDir() {
		return installDir(root, local, dest, req.Mode, sum != nil)
	}
	if err := sum.verify(local, req.Source); err != nil {
		return err
	}
	if req.Mode == ModeFile && strings.HasSuffix(req.Destination, "/") {
		dest = filepath.Join(dest, path.Base(src.Path))
	}
	return installFile(root, local, dest, req.Mode, src, opts["archive"] != "false", fi.Mode())
}

// destination cleans the destination, which must stay inside the task dir.
func destination(d string) (string, error) {
	if d == "" {
		d = "local/"
	}
	if filepath.IsAbs(d) {
		return "", fmt.Errorf("destination %q must be relative to the task directory", d)
	}
	clean := filepath.Clean(d)
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("destination %q escapes the task directory", d)
	}
	return clean, nil
}

// parseSource turns the source into a URL, taking go-getter's "checksum"
// and "archive" query parameters as options (explicit options win).
func parseSource(source string, options map[string]string) (*url.URL, map[string]string, error) {
	opts := map[string]string{}
	if i := strings.Index(source, "::"); i > 0 && !strings.Contains(source[:i], "/") {
		return nil, nil, fmt.Errorf("%w %q: getter %q is not available (local paths, file:// and http(s):// are)", ErrUnsupportedSource, source, source[:i])
	}
	u, err := url.Parse(source)
	if err != nil {
		return nil, nil, fmt.Errorf("artifact source %q: %w", source, err)
	}
	switch u.Scheme {
	case "":
		if !filepath.IsAbs(source) {
			return nil, nil, fmt.Errorf("%w %q: a local source must be an absolute path", ErrUnsupportedSource, source)
		}
		u = &url.URL{Scheme: "file", Path: source}
	case "file", "http", "https":
	default:
		return nil, nil, fmt.Errorf("%w %q: scheme %q (local paths, file:// and http(s):// are supported)", ErrUnsupportedSource, source, u.Scheme)
	}
	q := u.Query()
	for _, k := range []string{"checksum", "archive"} {
		if v := q.Get(k); v != "" {
			opts[k] = v
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	for k, v := range options {
		opts[k] = v
	}
	return u, opts, nil
}

// localCopy returns a local path holding the source: the file itself for
// file URLs, a downloaded temporary file for HTTP.
func (f *Fetcher) localCopy(ctx context.Context, u *url.URL, headers map[string]string) (string, func(), error) {
	if u.Scheme == "file" {
		return u.Path, func() {}, nil
	}
	tmp, err := os.CreateTemp("", "roam-artifact-*")
	if err != nil {
		return "", nil, fmt.Errorf("artifact download: %w", err)
	}
	cleanup := func() { os.Remove(tmp.Name()) }
	err = f.download(ctx, u, headers, tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		cleanup()
		return "", nil, err
	}
	return tmp.Name(), cleanup, nil
}

func (f *Fetcher) download(ctx context.Context, u *url.URL, headers map[string]string, w io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("artifact download: %w", err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	c := f.HTTPClient
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("artifact download: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("artifact download: GET %s: %s", redact(u), resp.Status)
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("artifact download: GET %s: %w", redact(u), err)
	}
	return nil
}

// redact drops credentials from a URL shown in messages.
func redact(u *url.URL) string { return u.Redacted() }

// installFile puts a fetched file in place according to mode.
func installFile(root *os.Root, local, dest string, mode Mode, src *url.URL, unpack bool, perm fs.FileMode) error {
	kind := archiveKind(path.Base(src.Path))
	switch {
	case mode == ModeFile:
		return copyFile(root, local, dest, filePerm(src, perm))
	case kind != "" && unpack:
		return unpackArchive(root, local, dest, kind)
	case mode == ModeDir:
		return fmt.Errorf("mode dir needs an archive or a directory; %s is neither", redact(src))
	}
	return copyFile(root, local, filepath.Join(dest, path.Base(src.Path)), filePerm(src, perm))
}

// filePerm keeps a local file's permissions; downloads are not executable.
func filePerm(src *url.URL, perm fs.FileMode) fs.FileMode {
	if src.Scheme == "file" {
		return perm.Perm()
	}
	return 0o644
}

// installDir copies a local directory tree into dest.
func installDir(root *os.Root, local, dest string, mode Mode, hasChecksum bool) error {
	if mode == ModeFile {
		return fmt.Errorf("mode file needs a file; %s is a directory", local)
	}
	if hasChecksum {
		return fmt.Errorf("checksum given for %s, which is a directory", local)
	}
	return filepath.WalkDir(local, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(local, p)
		target := filepath.Join(dest, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return root.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			return copyFile(root, p, target, info.Mode().Perm())
		}
		return nil // symlinks and special files of the source are skipped
	})
}

// copyFile copies a host file to name inside root.
func copyFile(root *os.Root, from, name string, perm fs.FileMode) error {
	in, err := os.Open(from)
	if err != nil {
		return fmt.Errorf("artifact: %w", err)
	}
	defer in.Close()
	return writeFile(root, name, in, perm)
}

// writeFile creates name (and its parents) inside root from r.
func writeFile(root *os.Root, name string, r io.Reader, perm fs.FileMode) error {
	if perm == 0 {
		perm = 0o644
	}
	if dir := filepath.Dir(name); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("artifact: create %s: %w", dir, err)
		}
	}
	out, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return fmt.Errorf("artifact: create %s: %w", name, err)
	}
	if _, err := io.Copy(out, r); err != nil {
		out.Close()
		return fmt.Errorf("artifact: write %s: %w", name, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("artifact: write %s: %w", name, err)
	}
	return root.Chmod(name, perm)
}
