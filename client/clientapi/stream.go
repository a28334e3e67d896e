package clientapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"math"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/roam-sh/roam/api"
)

// frameBytes is the most data one frame carries.
const frameBytes = 64 << 10

// sink is where a stream goes: JSON frames, or plain bytes.
type sink interface {
	data(file string, end int64, p []byte) error
	event(file, ev string) error
	// idle is called while a followed stream waits; a framed stream sends
	// a heartbeat when it has been quiet for the heartbeat interval.
	idle() error
}

// framedSink writes api.StreamFrames, one JSON object per line, flushing
// each so a proxy and the client see it at once.
type framedSink struct {
	w         http.ResponseWriter
	enc       *json.Encoder
	rc        *http.ResponseController
	heartbeat time.Duration
	last      time.Time
}

func newFramedSink(w http.ResponseWriter, heartbeat time.Duration) *framedSink {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	s := &framedSink{w: w, enc: json.NewEncoder(w), rc: http.NewResponseController(w), heartbeat: heartbeat, last: time.Now()}
	_ = s.rc.Flush()
	return s
}

func (s *framedSink) send(f *api.StreamFrame) error {
	if err := s.enc.Encode(f); err != nil {
		return err
	}
	s.last = time.Now()
	_ = s.rc.Flush()
	return nil
}

func (s *framedSink) data(file string, end int64, p []byte) error {
	return s.send(&api.StreamFrame{File: file, Offset: end, Data: p})
}

func (s *framedSink) event(file, ev string) error {
	return s.send(&api.StreamFrame{File: file, FileEvent: ev})
}

func (s *framedSink) idle() error {
	if time.Since(s.last) < s.heartbeat {
		return nil
	}
	return s.send(&api.StreamFrame{})
}

// plainSink writes the bytes alone (plain=true), for curl and browsers.
type plainSink struct {
	w  io.Writer
	rc *http.ResponseController
}

func newPlainSink(w http.ResponseWriter) *plainSink {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	s := &plainSink{w: w, rc: http.NewResponseController(w)}
	_ = s.rc.Flush()
	return s
}

func (s *plainSink) data(_ string, _ int64, p []byte) error {
	if _, err := s.w.Write(p); err != nil {
		return err
	}
	_ = s.rc.Flush()
	return nil
}

func (s *plainSink) event(string, string) error { return nil }
func (s *plainSink) idle() error                { return nil }

// streamParams are the common parameters of fs/stream and fs/logs.
type streamParams struct {
	origin string
	offset int64
	follow bool
	plain  bool
}

func parseStreamParams(r *http.Request, followDefault bool) (streamParams, error) {
	q := r.URL.Query()
	p := streamParams{origin: api.OriginStart, follow: followDefault}
	if o := q.Get("origin"); o != "" {
		if o != api.OriginStart && o != api.OriginEnd {
			return p, badRequest(`origin must be "start" or "end"`)
		}
		p.origin = o
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return p, badRequest("offset must be a non-negative integer")
		}
		p.offset = n
	}
	for name, dst := range map[string]*bool{"follow": &p.follow, "plain": &p.plain} {
		if v := q.Get(name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return p, badRequest(name + " must be true or false")
			}
			*dst = b
		}
	}
	return p, nil
}

func (p streamParams) sink(w http.ResponseWriter, heartbeat time.Duration) sink {
	if p.plain {
		return newPlainSink(w)
	}
	return newFramedSink(w, heartbeat)
}

// fsStream: GET /v1/client/fs/stream/:alloc?path=&offset=&origin=&follow=
// streams one file; followed, it reports the file's deletion or truncation.
func (h *Handler) fsStream(w http.ResponseWriter, r *http.Request) {
	p, err := parseStreamParams(r, true)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.withFS(w, r, func(afs *allocFS) error {
		f, rel, fi, err := openFile(afs, r.URL.Query().Get("path"))
		if err != nil {
			return err
		}
		defer f.Close()
		pos := startOffset(fi.Size(), p)
		out := p.sink(w, h.cfg.HeartbeatInterval)
		if !p.follow {
			// The file as it was at the start, up to the read cap: a task
			// appending as fast as we read cannot keep the request going.
			_, err := copyFrames(out, f, rel, pos, min(fi.Size(), stopAt(pos, h.cfg.MaxReadBytes)))
			if err != nil {
				h.logger.Debug("stream ended", "path", rel, "error", err)
			}
			return nil
		}
		if err := h.followFile(r.Context(), afs, out, f, rel, fi, pos); err != nil {
			h.logger.Debug("stream ended", "path", rel, "error", err)
		}
		return nil
	})
}

func startOffset(size int64, p streamParams) int64 {
	if p.origin == api.OriginEnd {
		return max(size-p.offset, 0)
	}
	return min(p.offset, size)
}

// errStreamEnd ends a followed stream normally (the file went away).
var errStreamEnd = errors.New("stream ended")

// followFile streams f from pos, waiting for more data until ctx ends or
// the file is deleted.
func (h *Handler) followFile(ctx context.Context, afs *allocFS, out sink, f *os.File, rel string, fi fs.FileInfo, pos int64) error {
	for {
		end, err := copyFrames(out, f, rel, pos, math.MaxInt64)
		if err != nil {
			return err
		}
		pos = end
		if pos, err = checkFile(afs, out, f, rel, fi, pos); err != nil {
			return err
		}
		if err := h.wait(ctx, out); err != nil {
			return err
		}
	}
}

// checkFile reports a deleted file (ending the stream) or a truncated one
// (restarting from its start).
func checkFile(afs *allocFS, out sink, f *os.File, rel string, fi fs.FileInfo, pos int64) (int64, error) {
	cur, err := afs.root.Lstat(rel)
	if err != nil || !os.SameFile(cur, fi) {
		if err := out.event(rel, api.FileEventDeleted); err != nil {
			return pos, err
		}
		return pos, errStreamEnd
	}
	st, err := f.Stat()
	if err == nil && st.Size() < pos {
		return 0, out.event(rel, api.FileEventTruncated)
	}
	return pos, nil
}

// wait sleeps one poll interval (sending a heartbeat when due) or returns
// ctx's error when the client went away.
func (h *Handler) wait(ctx context.Context, out sink) error {
	if err := out.idle(); err != nil {
		return err
	}
	t := time.NewTimer(h.cfg.PollInterval)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// stopAt is where reading n bytes from pos ends, without overflow.
func stopAt(pos, n int64) int64 {
	if n > math.MaxInt64-pos {
		return math.MaxInt64
	}
	return pos + n
}

// copyFrames sends f's data from pos to its current end, or to stop if
// that comes first, and returns the new position.
func copyFrames(out sink, f *os.File, rel string, pos, stop int64) (int64, error) {
	buf := make([]byte, frameBytes)
	for pos < stop {
		n, err := f.ReadAt(buf[:min(int64(len(buf)), stop-pos)], pos)
		if n > 0 {
			pos += int64(n)
			if serr := out.data(rel, pos, buf[:n]); serr != nil {
				return pos, serr
			}
		}
		if errors.Is(err, io.EOF) || (err == nil && n == 0) {
			return pos, nil
		}
		if err != nil {
			return pos, err
		}
	}
	return pos, nil
}
