package executor

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/internal/logfile"
)

// Log rotation lives in the executor because the executor is the process that
// outlives the client: output written while no client runs is rotated all the
// same.
//
//	task ──pipe──► copyLog ──► rotator ──► <dir>/<task>.stdout.<n>
//	                               │ file reaches MaxFileBytes:
//	                               └─► close n, open n+1, delete n+1-MaxFiles
//
// Files are written unbuffered, so a reader following them sees every byte as
// soon as the task wrote it, and a file is never written again once the next
// index exists: a follower that sees n+1 can read n to its end and move on.

// Defaults of the logs block.
const (
	DefaultLogMaxFiles     = 10
	DefaultLogMaxFileBytes = 10 << 20
)

// logCopyBuffer is how much output one read from the task's pipe takes.
const logCopyBuffer = 32 << 10

// LogSpec says where the task's output goes: Dir/<Name>.stdout.<n> and
// Dir/<Name>.stderr.<n>, rotated at MaxFileBytes, keeping MaxFiles of each.
type LogSpec struct {
	Dir          string `json:"dir"`
	Name         string `json:"name"`
	MaxFiles     int    `json:"max_files"`
	MaxFileBytes int64  `json:"max_file_bytes"`
	// Disabled discards the task's output.
	Disabled bool `json:"disabled,omitempty"`
}

// TaskLogs is the LogSpec of a driver's task: its log dir, name and logs
// block. Every driver that runs tasks through an executor passes it in
// Spec.Logs.
func TaskLogs(cfg *drivers.TaskConfig) *LogSpec {
	ls := &LogSpec{
		Dir: cfg.TaskDir.LogDir, Name: cfg.Name, Disabled: cfg.Logs.Disabled,
		MaxFiles: cfg.Logs.MaxFiles, MaxFileBytes: int64(cfg.Logs.MaxFileSizeMB) << 20,
	}
	if ls.Dir == "" && cfg.StdoutPath != "" {
		ls.Dir = filepath.Dir(cfg.StdoutPath)
	}
	return ls.withDefaults()
}

func (l LogSpec) withDefaults() *LogSpec {
	if l.MaxFiles <= 0 {
		l.MaxFiles = DefaultLogMaxFiles
	}
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = DefaultLogMaxFileBytes
	}
	return &l
}

// rotator writes one stream of a task into numbered files.
type rotator struct {
	dir, base string
	maxFiles  int
	maxBytes  int64
	logger    *slog.Logger

	f    *os.File
	idx  int
	size int64
}

// openRotator continues after the newest existing file: it appends to it
// when it is empty (the client creates index 0 ahead of the first start) and
// otherwise starts the next index, so a restarted task's output begins a new
// file, as Nomad's does.
func openRotator(ls *LogSpec, kind logfile.Kind, logger *slog.Logger) (*rotator, error) {
	l := ls.withDefaults()
	r := &rotator{
		dir: l.Dir, base: logfile.Base(l.Name, kind), maxFiles: l.MaxFiles, maxBytes: l.MaxFileBytes,
		logger: logger.With("log", logfile.Base(l.Name, kind)),
	}
	idxs, err := logfile.Indexes(r.dir, r.base)
	if err != nil {
		return nil, err
	}
	if len(idxs) > 0 {
		r.idx = idxs[len(idxs)-1]
	}
	if err := r.open(); err != nil {
		return nil, err
	}
	if r.size > 0 {
		if err := r.rotate(); err != nil {
			r.f.Close()
			return nil, err
		}
	}
	return r, nil
}

func (r *rotator) name(idx int) string { return r.base + "." + fmt.Sprint(idx) }

func (r *rotator) path(idx int) string { return filepath.Join(r.dir, r.name(idx)) }

// open opens the current file through logfile.OpenAppend: the log dir is
// in the shared alloc dir, where a task can plant symlinks and FIFOs under
// the names of files to come.
func (r *rotator) open() error {
	f, err := logfile.OpenAppend(r.dir, r.name(r.idx))
	if err != nil {
		return fmt.Errorf("open log file: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("stat log file: %w", err)
	}
	r.f, r.size = f, fi.Size()
	return nil
}

// Write fills the current file up to the size limit and carries the rest
// over into the next ones.
func (r *rotator) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		room := r.maxBytes - r.size
		if room <= 0 {
			if err := r.rotate(); err != nil {
				return written, err
			}
			continue
		}
		chunk := p[:min(int64(len(p)), room)]
		n, err := r.f.Write(chunk)
		written += n
		r.size += int64(n)
		if err != nil {
			return written, fmt.Errorf("write log file: %w", err)
		}
		p = p[n:]
	}
	return written, nil
}

// rotate closes the current file, opens the next index and deletes the
// files beyond maxFiles. The new file is created before the old ones go, so
// a follower always has somewhere to continue.
func (r *rotator) rotate() error {
	if err := r.f.Close(); err != nil {
		r.logger.Warn("closing rotated log file", "error", err)
	}
	r.idx++
	if err := r.open(); err != nil {
		return err
	}
	r.purge()
	return nil
}

// purge removes every file older than the newest maxFiles.
func (r *rotator) purge() {
	idxs, err := logfile.Indexes(r.dir, r.base)
	if err != nil {
		r.logger.Warn("listing log files", "error", err)
		return
	}
	for _, i := range idxs {
		if i > r.idx-r.maxFiles {
			break
		}
		if err := logfile.Remove(r.dir, r.name(i)); err != nil && !errors.Is(err, os.ErrNotExist) {
			r.logger.Warn("removing old log file", "file", r.path(i), "error", err)
		}
	}
}

func (r *rotator) Close() error { return r.f.Close() }

// openLog returns where one of the task's streams is written: a rotator, or
// the single file of a spec without Logs (an executor started by an older
// client).
func (s *supervisor) openLog(kind logfile.Kind) (io.WriteCloser, error) {
	if s.spec.Logs != nil {
		return openRotator(s.spec.Logs, kind, s.logger)
	}
	path := s.spec.StdoutPath
	if kind == logfile.Stderr {
		path = s.spec.StderrPath
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log file: %w", err)
	}
	return f, nil
}

// copyLog copies the task's output into w until the pipe closes. Failing
// writes (a full disk) drop that output and are logged when they start and
// when they stop: the pipe must keep draining or the task would block.
func copyLog(w io.Writer, r io.Reader, logger *slog.Logger) {
	buf := make([]byte, logCopyBuffer)
	failing := false
	for {
		n, err := r.Read(buf)
		if n > 0 {
			_, werr := w.Write(buf[:n])
			switch {
			case werr != nil && !failing:
				logger.Error("writing task output; dropping it until writes succeed", "error", werr)
			case werr == nil && failing:
				logger.Info("writing task output again")
			}
			failing = werr != nil
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				logger.Warn("reading task output", "error", err)
			}
			return
		}
	}
}

// OpenLogWriter returns a writer of one of a task's streams into ls's
// rotated files, continuing after the newest existing file as an executor
// does. It is for drivers whose tasks' output is collected by another
// process than an executor (docker's log collector).
func OpenLogWriter(ls *LogSpec, kind logfile.Kind, logger *slog.Logger) (io.WriteCloser, error) {
	return openRotator(ls, kind, logger)
}
