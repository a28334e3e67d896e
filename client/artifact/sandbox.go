package artifact

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/roam-sh/roam/client/allocdir"
	"github.com/roam-sh/roam/internal/selfexec"
	"github.com/roam-sh/roam/structs"
)

// SubcommandName is the hidden subcommand of the roam binary that fetches
// one artifact: cmd/roam must call Main(args-after-it) for
// `roam artifact-fetch`.
const SubcommandName = "artifact-fetch"

// Config is the client's `artifact` block (Nomad's names) and how to start
// the fetcher process.
type Config struct {
	// DisableFilesystemIsolation lets jobs fetch artifacts from this host's
	// file system (paths, file://, file::). Off: such sources are refused.
	// On or off, the fetcher runs as the task's user, so it reads only what
	// that user may read.
	DisableFilesystemIsolation bool
	// HTTPReadTimeout bounds one artifact's whole fetch: download and unpack.
	HTTPReadTimeout time.Duration
	// HTTPMaxSize bounds a download's body, in bytes.
	HTTPMaxSize int64
	// DecompressionLimitSize and DecompressionLimitFileCount bound what an
	// artifact writes into the task directory.
	DecompressionLimitSize      int64
	DecompressionLimitFileCount int
	// MemoryBytes bounds the fetcher's memory (RLIMIT_DATA): a zip's
	// central directory is read whole, and a crafted one could otherwise
	// claim the host's memory. Not in Nomad's block; DefaultFetcherMemory.
	MemoryBytes int64
	// Binary starts the fetcher process; zero means this executable's
	// artifact-fetch subcommand (tests re-execute the test binary).
	Binary Binary
}

// WithDefaults fills the unset limits with their defaults.
func (c Config) WithDefaults() Config {
	if c.HTTPReadTimeout <= 0 {
		c.HTTPReadTimeout = DefaultHTTPReadTimeout
	}
	if c.HTTPMaxSize <= 0 {
		c.HTTPMaxSize = DefaultHTTPMaxSize
	}
	if c.DecompressionLimitSize <= 0 {
		c.DecompressionLimitSize = DefaultDecompressionLimitSize
	}
	if c.DecompressionLimitFileCount <= 0 {
		c.DecompressionLimitFileCount = DefaultDecompressionLimitFileCount
	}
	if c.MemoryBytes <= 0 {
		c.MemoryBytes = DefaultFetcherMemory
	}
	return c
}

func (c Config) limits() Limits {
	return Limits{MaxDownloadBytes: c.HTTPMaxSize, MaxUnpackedBytes: c.DecompressionLimitSize, MaxFiles: c.DecompressionLimitFileCount}
}

// Binary says how to start the fetcher process.
type Binary = selfexec.Binary

// SelfBinary is this executable's artifact-fetch subcommand.
func SelfBinary() (Binary, error) { return selfexec.Self(SubcommandName) }

// Credential is who the fetcher process runs as.
type Credential struct {
	UID, GID uint32
}

// Sandbox fetches each artifact in a child process that runs as the task's
// user with no capabilities, writes only into a staging directory it was
// handed open (fd 3) inside the task directory, and is killed at the
// timeout. The agent then moves the staged files into place through an
// os.Root on the task directory, without following links.
type Sandbox struct {
	cfg    Config
	logger *slog.Logger
}

// NewSandbox returns a Sandbox for cfg (defaults applied).
func NewSandbox(cfg Config, logger *slog.Logger) *Sandbox {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Sandbox{cfg: cfg.WithDefaults(), logger: logger}
}

// childRequest is what the fetcher process reads on stdin.
type childRequest struct {
	Request         Request
	AllowLocalPaths bool
	Limits          Limits
	// MemoryBytes is the fetcher's data size limit (RLIMIT_DATA).
	MemoryBytes int64
}

// childResult is the one JSON line the fetcher writes on stdout. Kind
// carries the error's sentinel across the process boundary.
type childResult struct {
	Error string `json:",omitempty"`
	Kind  string `json:",omitempty"`
}

// Error kinds of childResult, in the order they are matched.
var errorKinds = []struct {
	kind string
	err  error
}{
	{"local", ErrLocalSource},
	{"unsupported", ErrUnsupportedSource},
	{"limit", ErrLimit},
}

// Fetch fetches req into req.TaskDir in a fetcher process running as cred.
func (s *Sandbox) Fetch(ctx context.Context, req Request, cred Credential) error {
	// Refused sources are refused here, with the setting named, before any
	// process starts.
	if _, _, err := parseSource(req.Source, req.Options, s.cfg.DisableFilesystemIsolation); err != nil {
		return err
	}
	shared, childDest, err := sharedDestination(req.Destination)
	if err != nil {
		return err
	}
	if !shared {
		dest, err := destination(req.Destination)
		if err != nil {
			return err
		}
		if agentOwned(dest) {
			return fmt.Errorf("artifact destination %q is roam's own folder of the task", req.Destination)
		}
	}
	root, prefix, err := openTarget(req.TaskDir, shared)
	if err != nil {
		return err
	}
	defer root.Close()
	removeStale(root, prefix, s.logger)
	staging, dir, err := makeStaging(root, prefix, cred)
	if err != nil {
		return err
	}
	defer func() {
		dir.Close()
		if err := root.RemoveAll(staging); err != nil {
			s.logger.Warn("cannot remove artifact staging directory", "path", staging, "error", err)
		}
	}()
	childReq := req
	if shared {
		childReq.Destination = childDest
	}
	if err := s.runChild(ctx, childReq, cred, dir); err != nil {
		return err
	}
	if !shared {
		return mergeStaged(root, staging)
	}
	if err := noLinks(root, path.Clean(childDest)); err != nil {
		return err
	}
	return mergeInto(root, staging, ".")
}

// openTarget opens the directory a fetch writes into: the task dir, or for
// a shared destination the allocation's alloc/ dir, opened beneath the
// allocation dir. Staging then happens inside the same root, so the final
// moves are renames that os.Root keeps inside it: a link in alloc/ cannot
// carry a write into a task's secrets/ or private/, or out of the
// allocation. The staging prefix of the shared dir names the task (hex, so
// one task's prefix is never another's), so that removing a stale staging
// dir never removes the in-progress one of a sibling task.
func openTarget(taskDir string, shared bool) (*os.Root, string, error) {
	if !shared {
		root, err := os.OpenRoot(taskDir)
		if err != nil {
			return nil, "", fmt.Errorf("open task dir: %w", err)
		}
		return root, stagingPrefix, nil
	}
	alloc, err := os.OpenRoot(filepath.Dir(taskDir))
	if err != nil {
		return nil, "", fmt.Errorf("open allocation dir: %w", err)
	}
	defer alloc.Close()
	root, err := alloc.OpenRoot(allocdir.SharedAllocName)
	if err != nil {
		return nil, "", fmt.Errorf("open shared alloc dir: %w", err)
	}
	return root, stagingPrefix + hex.EncodeToString([]byte(filepath.Base(taskDir))) + "-", nil
}

// sharedDestination reports whether a destination leaves the task dir for
// the allocation's shared alloc/ dir, as Nomad allows ("../alloc/data").
// For those it returns the destination relative to alloc/ ("data", a
// trailing slash kept: it means "a directory" to ModeFile). Any other way
// out of the task dir (another task's dir, above the allocation) is left
// to destination, which refuses it.
func sharedDestination(d string) (bool, string, error) {
	if d == "" || filepath.IsAbs(d) {
		return false, "", nil
	}
	clean := filepath.ToSlash(filepath.Clean(d))
	up := "../" + allocdir.SharedAllocName
	if clean != up && !strings.HasPrefix(clean, up+"/") {
		return false, "", nil
	}
	rel := strings.TrimPrefix(strings.TrimPrefix(clean, up), "/")
	if rel == "" {
		rel = "."
	}
	if strings.HasSuffix(d, "/") {
		rel += "/"
	}
	return true, rel, nil
}

// noLinks refuses a destination (relative to root) any existing component
// of which is a symlink, stopping at the first that does not exist. alloc/
// is writable by every task of the allocation: a link one task planted
// there must not redirect another task's artifact, even within alloc/.
func noLinks(root *os.Root, rel string) error {
	cur := ""
	for _, c := range strings.Split(rel, "/") {
		if c == "." {
			continue
		}
		cur = path.Join(cur, c)
		fi, err := root.Lstat(cur)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("artifact destination %s: %w", rel, err)
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("artifact destination %s: %s is a symlink; artifacts are not written through links in the shared alloc dir", rel, cur)
		}
	}
	return nil
}

// agentOwned reports whether a path relative to the task dir lies in
// private/, which holds roam's own files for the task (executor state, the
// log collector's record): an artifact writing there could change what the
// agent later reads. It is the rule every job path is held to
// (structs.AgentOwnedPath).
func agentOwned(rel string) bool { return structs.AgentOwnedTaskPath(filepath.ToSlash(rel)) }

// mergeStaged moves the staging tree into the task dir, refusing anything
// staged under private/ (a destination of "." and an archive entry
// "private/x" reach it without naming it).
func mergeStaged(root *os.Root, staging string) error {
	d, err := root.Open(staging)
	if err != nil {
		return fmt.Errorf("artifact: %w", err)
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return fmt.Errorf("artifact: %w", err)
	}
	for _, n := range names {
		if agentOwned(n) {
			return fmt.Errorf("artifact: %s/ is roam's own folder of the task; artifacts may not write there", n)
		}
	}
	return mergeInto(root, staging, ".")
}

// stagingPrefix names staging directories in the task dir.
const stagingPrefix = ".roam-artifact-"

// removeStale removes staging directories an agent that died mid-fetch
// left in the task dir, so a half fetch never stays for the task to see.
// Fetches of one task run one at a time (the artifacts hook), so none of
// these is in use.
func removeStale(root *os.Root, prefix string, logger *slog.Logger) {
	d, err := root.Open(".")
	if err != nil {
		return
	}
	names, _ := d.Readdirnames(-1)
	d.Close()
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			if err := root.RemoveAll(n); err != nil {
				logger.Warn("cannot remove a stale artifact staging directory", "name", n, "error", err)
			}
		}
	}
}

// makeStaging creates a fresh directory in the task dir owned by cred, mode
// 0700, and opens it for the child.
func makeStaging(root *os.Root, prefix string, cred Credential) (string, *os.File, error) {
	var b [8]byte
	_, _ = rand.Read(b[:])
	name := prefix + hex.EncodeToString(b[:])
	if err := root.Mkdir(name, 0o700); err != nil {
		return "", nil, fmt.Errorf("artifact staging: %w", err)
	}
	dir, err := root.Open(name)
	if err == nil {
		err = dir.Chown(int(cred.UID), int(cred.GID))
	}
	if err != nil {
		_ = root.RemoveAll(name)
		return "", nil, fmt.Errorf("artifact staging: %w", err)
	}
	return name, dir, nil
}

// runChild starts the fetcher process and turns its result into an error.
func (s *Sandbox) runChild(ctx context.Context, req Request, cred Credential, dir *os.File) error {
	bin := s.cfg.Binary
	if bin.Path == "" {
		var err error
		if bin, err = SelfBinary(); err != nil {
			return err
		}
	}
	in, err := json.Marshal(childRequest{
		Request: req, AllowLocalPaths: s.cfg.DisableFilesystemIsolation, Limits: s.cfg.limits(), MemoryBytes: s.cfg.MemoryBytes,
	})
	if err != nil {
		return err
	}
	// The binary is opened here and executed as the child's fd 4: the task's
	// user need not be able to reach the directory roam is installed in.
	exe, err := os.Open(bin.Path)
	if err != nil {
		return fmt.Errorf("artifact fetcher: %w", err)
	}
	defer exe.Close()
	ctx, cancel := context.WithTimeout(ctx, s.cfg.HTTPReadTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/proc/self/fd/4", bin.Args...)
	cmd.Args[0] = bin.Path
	cmd.Env = append(childEnv(), bin.Env...)
	cmd.Dir = "/"
	cmd.Stdin = bytes.NewReader(in)
	out, errOut := &cappedBuffer{max: 64 << 10}, &cappedBuffer{max: 16 << 10}
	cmd.Stdout, cmd.Stderr = out, errOut
	cmd.ExtraFiles = []*os.File{dir, exe}
	cmd.WaitDelay = 5 * time.Second
	setCredential(cmd, cred)
	runErr := runNoNewPrivs(cmd)
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w: fetch took longer than %s (http_read_timeout)", ErrLimit, s.cfg.HTTPReadTimeout)
	}
	var res childResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		return fmt.Errorf("artifact fetcher: %v: %s", runErr, bytes.TrimSpace(errOut.Bytes()))
	}
	if res.Error == "" {
		return nil
	}
	for _, k := range errorKinds {
		if k.kind == res.Kind {
			return fmt.Errorf("%w (%s)", k.err, res.Error)
		}
	}
	return errors.New(res.Error)
}

// childEnv is the fetcher's environment: a fixed PATH and the agent's
// proxy and CA settings, nothing else of the agent's (its tokens stay out).
func childEnv() []string {
	env := []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/nonexistent"}
	for _, k := range []string{"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy", "SSL_CERT_FILE", "SSL_CERT_DIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// cappedBuffer keeps the first max bytes written and drops the rest.
type cappedBuffer struct {
	bytes.Buffer
	max int
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if room := c.max - c.Len(); room > 0 {
		c.Buffer.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// mergeInto moves the tree at from into to, both inside root: directories
// are merged, anything else replaces what is there. Nothing is followed:
// a symlink at the destination is replaced, not written through.
func mergeInto(root *os.Root, from, to string) error {
	d, err := root.Open(from)
	if err != nil {
		return fmt.Errorf("artifact: %w", err)
	}
	entries, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		return fmt.Errorf("artifact: %w", err)
	}
	for _, e := range entries {
		src, dst := path.Join(from, e.Name()), path.Join(to, e.Name())
		fi, err := root.Lstat(dst)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return fmt.Errorf("artifact: %w", err)
		case e.IsDir() && fi.IsDir():
			if err := mergeInto(root, src, dst); err != nil {
				return err
			}
			continue
		default:
			if err := root.RemoveAll(dst); err != nil {
				return fmt.Errorf("artifact: replace %s: %w", dst, err)
			}
		}
		if err := root.Rename(src, dst); err != nil {
			return fmt.Errorf("artifact: move %s into place: %w", e.Name(), err)
		}
	}
	return nil
}

// Main runs the fetcher process and returns its exit code: it reads a
// childRequest on stdin, fetches into the directory open as fd 3 and writes
// a childResult on stdout.
func Main(args []string) int {
	res := childMain()
	_ = json.NewEncoder(os.Stdout).Encode(res)
	if res.Error != "" {
		return 1
	}
	return 0
}

func childMain() childResult {
	if err := dropPrivileges(); err != nil {
		return childResult{Error: err.Error()}
	}
	var req childRequest
	if err := json.NewDecoder(io.LimitReader(os.Stdin, 1<<20)).Decode(&req); err != nil {
		return childResult{Error: fmt.Sprintf("artifact fetcher: read request: %v", err)}
	}
	if err := limitMemory(req.MemoryBytes); err != nil {
		return childResult{Error: err.Error()}
	}
	// fd 3 is the staging directory; its /proc path opens it without
	// resolving any name the agent or a task could change.
	const dir = "/proc/self/fd/3"
	req.Request.TaskDir = dir
	f := &Fetcher{AllowLocalPaths: req.AllowLocalPaths, Limits: req.Limits, TempDir: dir}
	err := f.Fetch(context.Background(), req.Request)
	if err == nil {
		return childResult{}
	}
	res := childResult{Error: err.Error()}
	for _, k := range errorKinds {
		if errors.Is(err, k.err) {
			res.Kind = k.kind
			break
		}
	}
	return res
}
