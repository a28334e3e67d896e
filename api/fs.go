package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// AllocFS is the allocation file system endpoints (/v1/client/fs/...). The
// agent answers for allocations of its own client and forwards the others
// to the node running them.
type AllocFS struct{ c *Client }

// AllocFS returns the allocation file system endpoints.
func (c *Client) AllocFS() *AllocFS { return &AllocFS{c: c} }

func fsPath(op, allocID string) string { return "/v1/client/fs/" + op + "/" + url.PathEscape(allocID) }

func withParams(q *QueryOptions, kv ...string) *QueryOptions {
	out := &QueryOptions{}
	if q != nil {
		*out = *q
	}
	params := map[string]string{}
	for k, v := range out.Params {
		params[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		params[kv[i]] = kv[i+1]
	}
	out.Params = params
	return out
}

// List lists a directory of the allocation ("" or "/" is its root).
func (a *AllocFS) List(allocID, path string, q *QueryOptions) ([]*AllocFileInfo, error) {
	var out []*AllocFileInfo
	_, err := a.c.query(fsPath("ls", allocID), &out, withParams(q, "path", path))
	return out, err
}

// Stat describes one file of the allocation.
func (a *AllocFS) Stat(allocID, path string, q *QueryOptions) (*AllocFileInfo, error) {
	var out AllocFileInfo
	if _, err := a.c.query(fsPath("stat", allocID), &out, withParams(q, "path", path)); err != nil {
		return nil, err
	}
	return &out, nil
}

// Cat returns a file's content; the caller closes it.
func (a *AllocFS) Cat(allocID, path string, q *QueryOptions) (io.ReadCloser, error) {
	return a.c.raw(fsPath("cat", allocID), withParams(q, "path", path))
}

// ReadAt returns limit bytes of a file from offset (limit 0: to the end;
// the agent refuses a negative limit, an offset past the end and a range
// larger than its read cap).
func (a *AllocFS) ReadAt(allocID, path string, offset, limit int64, q *QueryOptions) (io.ReadCloser, error) {
	return a.c.raw(fsPath("readat", allocID), withParams(q, "path", path,
		"offset", strconv.FormatInt(offset, 10), "limit", strconv.FormatInt(limit, 10)))
}

// StreamOptions choose where a stream starts and whether it follows.
type StreamOptions struct {
	// Origin is OriginStart (default) or OriginEnd; Offset counts from it.
	Origin string
	Offset int64
	Follow bool
}

func (o StreamOptions) params(kv ...string) []string {
	origin := o.Origin
	if origin == "" {
		origin = OriginStart
	}
	return append(kv, "origin", origin, "offset", strconv.FormatInt(o.Offset, 10), "follow", strconv.FormatBool(o.Follow))
}

// Stream streams a file as frames; with Follow it keeps streaming what is
// appended until ctx (q.Ctx) ends.
func (a *AllocFS) Stream(allocID, path string, o StreamOptions, q *QueryOptions) (*FrameStream, error) {
	body, err := a.c.raw(fsPath("stream", allocID), withParams(q, o.params("path", path)...))
	if err != nil {
		return nil, err
	}
	return NewFrameStream(body), nil
}

// LogType is "stdout" or "stderr".
const (
	LogStdout = "stdout"
	LogStderr = "stderr"
)

// Logs streams a task's stdout or stderr as frames, across its rotated
// files; with Follow it keeps streaming (into new files too).
func (a *AllocFS) Logs(allocID, task, logType string, o StreamOptions, q *QueryOptions) (*FrameStream, error) {
	body, err := a.c.raw(fsPath("logs", allocID), withParams(q, o.params("task", task, "type", logType)...))
	if err != nil {
		return nil, err
	}
	return NewFrameStream(body), nil
}

// raw performs a GET and returns the body of a 2xx response.
func (c *Client) raw(path string, q *QueryOptions) (io.ReadCloser, error) {
	r := c.newRequest(http.MethodGet, path)
	r.setQuery(q)
	resp, err := c.do(q.context(), r)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// FrameStream decodes a stream of StreamFrames.
type FrameStream struct {
	body io.ReadCloser
	dec  *json.Decoder
	buf  []byte // unread data of the current frame, for Read
}

// NewFrameStream decodes frames from body.
func NewFrameStream(body io.ReadCloser) *FrameStream {
	return &FrameStream{body: body, dec: json.NewDecoder(body)}
}

// Next returns the next frame that is not a heartbeat; io.EOF at the end.
func (s *FrameStream) Next() (*StreamFrame, error) {
	for {
		var f StreamFrame
		if err := s.dec.Decode(&f); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, context.Canceled) {
				return nil, io.EOF
			}
			return nil, fmt.Errorf("read stream frame: %w", err)
		}
		if !f.IsHeartbeat() {
			return &f, nil
		}
	}
}

// Read reads the data of the frames, skipping heartbeats and file events.
func (s *FrameStream) Read(p []byte) (int, error) {
	for len(s.buf) == 0 {
		f, err := s.Next()
		if err != nil {
			return 0, err
		}
		s.buf = f.Data
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	return n, nil
}

// Close ends the stream.
func (s *FrameStream) Close() error { return s.body.Close() }
