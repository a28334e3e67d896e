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

// ErrLocalSource is returned for a source on the agent's own file system (a
// path, file://, file::) while the operator has not allowed them: a job
// submitter must not read the client host's files through an artifact.
var ErrLocalSource = errors.New("artifact source is a path on the client host; local artifact sources are refused unless the client sets artifact { disable_filesystem_isolation = true }")

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

// Fetcher downloads artifacts in the calling process. The client never
// uses it directly: Sandbox runs it in a child process without root's
// reach. The zero value refuses local sources and sets no limits.
type Fetcher struct {
	// HTTPClient, when nil, is a client whose redirects stay on http(s).
	HTTPClient *http.Client
	// AllowLocalPaths accepts sources on this host's file system.
	AllowLocalPaths bool
	Limits          Limits
	// TempDir holds downloads before they are unpacked ("": os.TempDir).
	TempDir string
}

// Fetch fetches one artifact into the task directory.
func (f *Fetcher) Fetch(ctx context.Context, req Request) error {
	dest, err := destination(req.Destination)
	if err != nil {
		return err
	}
	src, opts, err := parseSource(req.Source, req.Options, f.AllowLocalPaths)
	if err != nil {
		return err
	}
	b := &budget{lim: f.Limits}
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
		return installDir(root, local, dest, req.Mode, sum != nil, b)
	}
	if err := sum.verify(local, req.Source); err != nil {
		return err
	}
	if req.Mode == ModeFile && strings.HasSuffix(req.Destination, "/") {
		dest = filepath.Join(dest, path.Base(src.Path))
	}
	return installFile(root, local, dest, req.Mode, src, opts["archive"] != "false", fi.Mode(), b)
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

// forcedGetters are go-getter's "<getter>::<source>" prefixes roam knows:
// file:: is a local path, http:: and https:: name the scheme outright.
var forcedGetters = map[string]string{"file": "file", "http": "http", "https": "https"}

// parseSource turns the source into a URL, taking go-getter's "checksum"
// and "archive" query parameters as options (explicit options win). Every
// form that reads this host's file system (a bare path, file://, file::) is
// ErrLocalSource unless allowLocal.
func parseSource(source string, options map[string]string, allowLocal bool) (*url.URL, map[string]string, error) {
	opts := map[string]string{}
	forced := ""
	if i := strings.Index(source, "::"); i > 0 && !strings.Contains(source[:i], "/") {
		g, ok := forcedGetters[source[:i]]
		if !ok {
			return nil, nil, fmt.Errorf("%w %q: getter %q is not available (local paths, file:// and http(s):// are)", ErrUnsupportedSource, source, source[:i])
		}
		forced, source = g, source[i+2:]
	}
	u, err := url.Parse(source)
	if err != nil {
		return nil, nil, fmt.Errorf("artifact source %q: %w", source, err)
	}
	if forced == "file" || u.Scheme == "" {
		u = &url.URL{Scheme: "file", Path: strings.TrimPrefix(source, "file://")}
	}
	if forced != "" && forced != u.Scheme {
		return nil, nil, fmt.Errorf("%w %q: getter %s:: with a %s URL", ErrUnsupportedSource, source, forced, u.Scheme)
	}
	switch u.Scheme {
	case "file":
		if !allowLocal {
			return nil, nil, fmt.Errorf("%w: %q", ErrLocalSource, source)
		}
		if !filepath.IsAbs(u.Path) {
			return nil, nil, fmt.Errorf("%w %q: a local source must be an absolute path", ErrUnsupportedSource, source)
		}
	case "http", "https":
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
	tmp, err := os.CreateTemp(f.TempDir, "roam-artifact-*")
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
		c = &http.Client{CheckRedirect: checkRedirect}
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("artifact download: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("artifact download: GET %s: %s", redact(u), resp.Status)
	}
	max := f.Limits.MaxDownloadBytes
	if max > 0 && resp.ContentLength > max {
		return fmt.Errorf("artifact download: GET %s: %w: body of %d bytes is over %d (http_max_size)", redact(u), ErrLimit, resp.ContentLength, max)
	}
	body := io.Reader(resp.Body)
	if max > 0 {
		body = io.LimitReader(resp.Body, max+1)
	}
	n, err := io.Copy(w, body)
	if err != nil {
		return fmt.Errorf("artifact download: GET %s: %w", redact(u), err)
	}
	if max > 0 && n > max {
		return fmt.Errorf("artifact download: GET %s: %w: body over %d bytes (http_max_size)", redact(u), ErrLimit, max)
	}
	return nil
}

// maxRedirects is how many redirects one download follows (as net/http).
const maxRedirects = 10

// checkRedirect follows redirects only to http and https: a server must not
// turn a download into a read of this host (file://) or another getter.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if s := req.URL.Scheme; s != "http" && s != "https" {
		return fmt.Errorf("redirect to %s refused: artifact downloads follow http(s) redirects only", redact(req.URL))
	}
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	return nil
}

// redact drops credentials from a URL shown in messages.
func redact(u *url.URL) string { return u.Redacted() }

// installFile puts a fetched file in place according to mode.
func installFile(root *os.Root, local, dest string, mode Mode, src *url.URL, unpack bool, perm fs.FileMode, b *budget) error {
	kind := archiveKind(path.Base(src.Path))
	switch {
	case mode == ModeFile:
		return copyFile(root, local, dest, filePerm(src, perm), b)
	case kind != "" && unpack:
		return unpackArchive(root, local, path.Base(src.Path), dest, kind, b)
	case mode == ModeDir:
		return fmt.Errorf("mode dir needs an archive or a directory; %s is neither", redact(src))
	}
	return copyFile(root, local, filepath.Join(dest, path.Base(src.Path)), filePerm(src, perm), b)
}

// filePerm keeps a local file's permissions; downloads are not executable.
func filePerm(src *url.URL, perm fs.FileMode) fs.FileMode {
	if src.Scheme == "file" {
		return perm.Perm()
	}
	return 0o644
}

// installDir copies a local directory tree into dest.
func installDir(root *os.Root, local, dest string, mode Mode, hasChecksum bool, b *budget) error {
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
			if err := b.entry(target); err != nil {
				return err
			}
			return root.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			return copyFile(root, p, target, info.Mode().Perm(), b)
		}
		return nil // symlinks and special files of the source are skipped
	})
}

// copyFile copies a host file to name inside root.
func copyFile(root *os.Root, from, name string, perm fs.FileMode, b *budget) error {
	in, err := os.Open(from)
	if err != nil {
		return fmt.Errorf("artifact: %w", err)
	}
	defer in.Close()
	return writeFile(root, name, in, perm, b)
}

// writeFile creates name (and its parents) inside root from r, counting it
// against b. A symlink already at name is replaced, never written through.
func writeFile(root *os.Root, name string, r io.Reader, perm fs.FileMode, b *budget) error {
	if err := b.entry(name); err != nil {
		return err
	}
	r = b.reader(r, name)
	if perm == 0 {
		perm = 0o644
	}
	if dir := filepath.Dir(name); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("artifact: create %s: %w", dir, err)
		}
	}
	if fi, err := root.Lstat(name); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		if err := root.Remove(name); err != nil {
			return fmt.Errorf("artifact: replace symlink %s: %w", name, err)
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
