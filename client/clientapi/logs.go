package clientapi

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/http"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/client/allocdir"
	"github.com/roam-sh/roam/client/allocrunner"
	"github.com/roam-sh/roam/internal/logfile"
	"github.com/roam-sh/roam/structs"
)

// logDir is the allocation's log directory, relative to its root.
var logDir = path.Join(allocdir.SharedAllocName, allocdir.LogDirName)

// Following a task's log across rotation:
//
//	web.stdout.3 ──EOF──► is there a web.stdout.4 (or later)?
//	   no:  follow: wait and read .3 again; else: done
//	   yes: read .3 to its end once more (the executor never writes .3 again
//	        once .4 exists, so this gets every byte), then continue in .4
//
// A file rotated away (deleted) before it was reached is skipped: the stream
// continues in the oldest file still there. When the task is dead for good
// a follow ends after the last byte, like the task's output did.

// logStream is one fs/logs request being served.
type logStream struct {
	h      *Handler
	afs    *allocFS
	out    sink
	base   string
	follow bool
	dead   func() bool
	// budget is what the request may still read: the read cap when it does
	// not follow, unbounded when it does.
	budget int64
}

// fsLogs: GET /v1/client/fs/logs/:alloc?task=&type=&follow=&offset=&origin=&plain=
func (h *Handler) fsLogs(w http.ResponseWriter, r *http.Request) {
	p, err := parseStreamParams(r, false)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	ar, err := h.allocRunner(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	task, kind, err := logTarget(ar, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.withFS(w, r, func(afs *allocFS) error {
		ls := &logStream{h: h, afs: afs, base: logfile.Base(task, kind), follow: p.follow, dead: taskDead(ar, task), budget: math.MaxInt64}
		if !p.follow {
			ls.budget = h.cfg.MaxReadBytes
		}
		idx, pos, err := ls.start(p)
		if err != nil {
			return err
		}
		ls.out = p.sink(w, h.cfg.HeartbeatInterval)
		if err := ls.run(r.Context(), idx, pos); err != nil {
			h.logger.Debug("log stream ended", "log", ls.base, "error", err)
		}
		return nil
	})
}

// logTarget validates the task and type parameters.
func logTarget(ar *allocrunner.AllocRunner, r *http.Request) (string, logfile.Kind, error) {
	q := r.URL.Query()
	task := q.Get("task")
	if task == "" {
		return "", "", badRequest("missing task")
	}
	if !slices.Contains(ar.TaskNames(), task) {
		return "", "", fmt.Errorf("%w %q (the allocation's tasks: %s)", allocrunner.ErrUnknownTask, task, strings.Join(ar.TaskNames(), ", "))
	}
	typ := q.Get("type")
	if typ == "" {
		return "", "", badRequest("missing type (stdout or stderr)")
	}
	kind, err := logfile.ParseKind(typ)
	if err != nil {
		return "", "", badRequest(err.Error())
	}
	return task, kind, nil
}

func taskDead(ar *allocrunner.AllocRunner, task string) func() bool {
	return func() bool {
		st := ar.TaskStates()[task]
		return st != nil && st.State == structs.TaskStateDead
	}
}

// indexes lists the stream's files, oldest first.
func (ls *logStream) indexes() ([]int, error) {
	d, _, fi, err := ls.afs.openPath(logDir)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		d.Close()
		return nil, badRequest(logDir + " is not a directory")
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	return logfile.IndexesOf(names, ls.base), nil
}

func (ls *logStream) file(idx int) string {
	return path.Join(logDir, fmt.Sprintf("%s.%d", ls.base, idx))
}

func (ls *logStream) size(idx int) int64 {
	fi, err := ls.afs.root.Lstat(ls.file(idx))
	if err != nil {
		return 0
	}
	return fi.Size()
}

// start finds where the stream begins. Offsets count across files: from
// the oldest file's start, or back from the newest file's end.
func (ls *logStream) start(p streamParams) (int, int64, error) {
	idxs, err := ls.indexes()
	if err != nil {
		return 0, 0, err
	}
	if len(idxs) == 0 {
		return 0, 0, &apiError{http.StatusNotFound, fmt.Sprintf("no %s logs yet (is logging disabled?)", ls.base)}
	}
	remaining := p.offset
	if p.origin == api.OriginEnd {
		for i := len(idxs) - 1; ; i-- {
			size := ls.size(idxs[i])
			if remaining <= size || i == 0 {
				return idxs[i], max(size-remaining, 0), nil
			}
			remaining -= size
		}
	}
	for i := 0; ; i++ {
		size := ls.size(idxs[i])
		if remaining < size || i == len(idxs)-1 {
			return idxs[i], min(remaining, size), nil
		}
		remaining -= size
	}
}

// run streams from file idx at pos on, moving to newer files as they
// appear.
func (ls *logStream) run(ctx context.Context, idx int, pos int64) error {
	for {
		// Through openPath: a task can write to alloc/logs and could plant a
		// symlink there; it must not lead anywhere the API refuses.
		f, _, _, err := ls.afs.openPath(ls.file(idx))
		if errors.Is(err, fs.ErrNotExist) {
			next, ok, err := ls.next(idx)
			if err != nil || !ok {
				return err
			}
			idx, pos = next, 0 // rotated away before we got to it
			continue
		}
		if err != nil {
			return err
		}
		next, err := ls.drain(ctx, f, idx, pos)
		f.Close()
		if err != nil || next < 0 {
			return err
		}
		idx, pos = next, 0
	}
}

// drain streams one open file until a newer file exists (returning its
// index), or, without follow or once the task is dead, until its end (-1).
func (ls *logStream) drain(ctx context.Context, f *os.File, idx int, pos int64) (int, error) {
	rel := ls.file(idx)
	for {
		dead := ls.dead()
		end, err := ls.copy(f, rel, pos)
		if err != nil || ls.budget == 0 {
			return -1, err
		}
		pos = end
		next, ok, err := ls.next(idx)
		if err != nil {
			return -1, err
		}
		if ok {
			// Nothing is written to this file any more: read what came in
			// between our last read and the listing, then move on.
			if _, err := ls.copy(f, rel, pos); err != nil || ls.budget == 0 {
				return -1, err
			}
			return next, nil
		}
		if !ls.follow || dead {
			return -1, nil
		}
		if err := ls.h.wait(ctx, ls.out); err != nil {
			return -1, err
		}
	}
}

// copy sends f's data from pos on, within the request's budget.
func (ls *logStream) copy(f *os.File, rel string, pos int64) (int64, error) {
	end, err := copyFrames(ls.out, f, rel, pos, stopAt(pos, ls.budget))
	if ls.budget != math.MaxInt64 {
		ls.budget -= end - pos
	}
	return end, err
}

// next is the oldest file newer than idx, if any.
func (ls *logStream) next(idx int) (int, bool, error) {
	idxs, err := ls.indexes()
	if err != nil {
		return 0, false, err
	}
	for _, i := range idxs {
		if i > idx {
			return i, true, nil
		}
	}
	return 0, false, nil
}
