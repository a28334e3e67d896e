package template

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/hashicorp/consul-template/renderer"
	"golang.org/x/sys/unix"

	"github.com/roam-sh/roam/internal/confine"
	"github.com/roam-sh/roam/structs"
)

// spec is where one template is read from and written to.
type spec struct {
	index int
	t     *structs.Template
	// abs is the destination's host path (consul-template's name for it);
	// rel the same path relative to the allocation directory.
	abs, rel string
	// source is the source's host path ("" for data); srcRel the same
	// path relative to the task directory.
	source, srcRel string
	taskDir        string
	perms          os.FileMode
}

// files reads sources and writes destinations for one engine, and keeps
// what was rendered: the content sum of each template and which changed
// since the engine last asked.
type files struct {
	allocDir, taskDir string
	specs             []*spec
	byDest            map[string]*spec
	bySource          map[string]*spec

	mu      sync.Mutex
	sum     []string
	changed map[int]bool
}

func newFiles(cfg Config) (*files, error) {
	f := &files{
		allocDir: cfg.AllocDir, taskDir: cfg.TaskDir,
		byDest: map[string]*spec{}, bySource: map[string]*spec{},
		sum: make([]string, len(cfg.Templates)), changed: map[int]bool{},
	}
	for i, t := range cfg.Templates {
		s, err := f.newSpec(i, t)
		if err != nil {
			return nil, &templateError{index: i, dest: t.DestPath, err: err}
		}
		f.specs = append(f.specs, s)
		f.byDest[s.abs] = s
		if s.source != "" {
			f.bySource[s.source] = s
		}
	}
	return f, nil
}

func (f *files) newSpec(i int, t *structs.Template) (*spec, error) {
	s := &spec{index: i, t: t, taskDir: f.taskDir, perms: parsePerms(t.Perms) & os.ModePerm}
	s.abs = filepath.Join(f.taskDir, t.DestPath)
	rel, ok := confine.Rel(f.allocDir, s.abs)
	if !ok || rel == "." {
		return nil, fmt.Errorf("destination %q leaves the allocation directory", t.DestPath)
	}
	if structs.AgentOwnedPath(filepath.ToSlash(rel)) {
		return nil, errors.New(structs.AgentOwnedProblem("destination", t.DestPath))
	}
	s.rel = rel
	if t.SourcePath == "" {
		if problems := structs.CheckTemplateText(t.EmbeddedTmpl, t.LeftDelim, t.RightDelim); len(problems) > 0 {
			return nil, problemsError(problems)
		}
		return s, nil
	}
	s.source = filepath.Join(f.taskDir, t.SourcePath)
	srcRel, ok := confine.Rel(f.taskDir, s.source)
	if !ok {
		return nil, fmt.Errorf("source %q leaves the task directory", t.SourcePath)
	}
	if structs.AgentOwnedTaskPath(filepath.ToSlash(srcRel)) {
		return nil, errors.New(structs.AgentOwnedProblem("source", t.SourcePath))
	}
	s.srcRel = srcRel
	return s, nil
}

func problemsError(problems []structs.TemplateProblem) error {
	msgs := make([]string, len(problems))
	for i, p := range problems {
		msgs[i] = p.String()
	}
	return errors.New(strings.Join(msgs, "; "))
}

// read is consul-template's ReaderFunc: a source file, opened beneath the
// task directory (a symlink out of it is refused), bounded in size, and
// parsed as validation parses data, so a syntax error names its line.
func (f *files) read(path string) ([]byte, error) {
	s := f.bySource[path]
	if s == nil {
		return nil, fmt.Errorf("source %s is not a template of this task", path)
	}
	b, err := readBounded(f.allocDir, f.taskDir, s.srcRel, structs.MaxTemplateBytes)
	if err != nil {
		return nil, &templateError{index: s.index, dest: s.t.DestPath, err: fmt.Errorf("read source %s: %w", s.t.SourcePath, err)}
	}
	if problems := structs.CheckTemplateText(string(b), s.t.LeftDelim, s.t.RightDelim); len(problems) > 0 {
		return nil, &templateError{index: s.index, dest: s.t.DestPath, err: fmt.Errorf("source %s: %w", s.t.SourcePath, problemsError(problems))}
	}
	return b, nil
}

// readBounded reads the regular file rel beneath root (the allocation
// directory or the task's), refusing one larger than limit and one that
// lies, whatever links led there, in a task's private/ folder.
func readBounded(allocDir, root, rel string, limit int64) ([]byte, error) {
	fh, err := confine.OpenRegular(root, rel, unix.O_RDONLY, 0, confine.Beneath)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	if err := confine.NotAgentOwned(allocDir, fh, ""); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(fh, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", rel, limit)
	}
	return b, nil
}

// maxRenderedBytes bounds what a template may write.
const maxRenderedBytes = 64 << 20

// render is consul-template's RendererFunc: write the destination only when
// its content changes, atomically, beneath the allocation directory.
func (f *files) render(in *renderer.RenderInput) (*renderer.RenderResult, error) {
	s := f.byDest[in.Path]
	if s == nil {
		return nil, fmt.Errorf("destination %s is not a template of this task", in.Path)
	}
	if len(in.Contents) > maxRenderedBytes {
		return nil, fmt.Errorf("rendered %d bytes; the limit is %d", len(in.Contents), maxRenderedBytes)
	}
	existing, err := readBounded(f.allocDir, f.allocDir, s.rel, maxRenderedBytes)
	exists := err == nil
	if s.t.Once && exists {
		f.record(s.index, existing, false)
		return &renderer.RenderResult{WouldRender: true, Contents: existing}, nil
	}
	if exists && bytes.Equal(existing, in.Contents) {
		f.record(s.index, existing, false)
		return &renderer.RenderResult{WouldRender: true, Contents: existing}, nil
	}
	if err := writeAtomic(f.allocDir, s, in.Contents); err != nil {
		return nil, fmt.Errorf("write %s: %w", s.t.DestPath, err)
	}
	f.record(s.index, in.Contents, true)
	return &renderer.RenderResult{DidRender: true, WouldRender: true, Contents: in.Contents}, nil
}

func (f *files) record(i int, content []byte, changed bool) {
	sum := sha256.Sum256(content)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sum[i] = hex.EncodeToString(sum[:])
	if changed {
		f.changed[i] = true
	}
}

// takeChanged returns the templates written since the last call, in order.
func (f *files) takeChanged() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]int, 0, len(f.changed))
	for i := range f.changed {
		out = append(out, i)
	}
	clear(f.changed)
	slices.Sort(out)
	return out
}

func (f *files) sums() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.sum)
}

// writeAtomic writes content to a temporary file in the destination's
// directory (made beneath the allocation directory if missing), gives it
// its mode and owner through its descriptor, and renames it over the
// destination: a reader sees the old file or the new one, and a symlink
// the task left at the destination is replaced, never followed.
func writeAtomic(allocDir string, s *spec, content []byte) error {
	dir, err := confine.MkdirAll(allocDir, filepath.Dir(s.rel), 0o755, confine.Beneath)
	if err != nil {
		return err
	}
	defer dir.Close()
	base := filepath.Base(s.rel)
	if err := confine.NotAgentOwned(allocDir, dir, base); err != nil {
		return err
	}
	tmp := "." + base + ".roam-tmp"
	_ = unix.Unlinkat(int(dir.Fd()), tmp, 0) // left by a client that died mid-write
	fh, err := confine.OpenAt(dir, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, uint32(s.perms), confine.Beneath)
	if err != nil {
		return err
	}
	_, werr := fh.Write(content)
	err = errors.Join(werr, fh.Chmod(s.perms), chown(fh, s.t), fh.Close())
	if err == nil {
		err = unix.Renameat(int(dir.Fd()), tmp, int(dir.Fd()), base)
	}
	if err != nil {
		_ = unix.Unlinkat(int(dir.Fd()), tmp, 0)
	}
	return err
}

// chown gives the file the template's uid and gid, where set.
func chown(fh *os.File, t *structs.Template) error {
	if t.Uid == nil && t.Gid == nil {
		return nil
	}
	uid, gid := -1, -1
	if t.Uid != nil {
		uid = *t.Uid
	}
	if t.Gid != nil {
		gid = *t.Gid
	}
	return fh.Chown(uid, gid)
}
