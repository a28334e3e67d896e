package cli

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/roam-sh/roam/api"
)

// Tailing and following for `alloc logs` and `alloc fs`. `-n lines` is
// exact: the end of the file is read (without following) in a window that
// grows until it holds the lines, and the last of them are printed. A
// follow (-f) then starts a little before that point and drops whatever the
// frames' positions say was already printed, so nothing written meanwhile is
// lost or shown twice.

// tailWindow is the first window read for -n; it grows 4x at a time.
const tailWindow = 8 << 10

// followMargin is how far before the printed end a follow starts, to cover
// output written between the tail read and the follow request.
const followMargin = 1 << 20

// openStream opens the stream being tailed with the given options.
type openStream func(o api.StreamOptions) (*api.FrameStream, error)

// streamPos is where printed output ends: a file (relative to the
// allocation dir) and the offset just past its last byte.
type streamPos struct {
	file   string
	offset int64
}

// readAll reads a stream that does not follow to its end.
func readAll(s *api.FrameStream) ([]byte, streamPos, error) {
	defer s.Close()
	var buf bytes.Buffer
	var pos streamPos
	for {
		f, err := s.Next()
		if errors.Is(err, io.EOF) {
			return buf.Bytes(), pos, nil
		}
		if err != nil {
			return nil, pos, err
		}
		if len(f.Data) > 0 {
			buf.Write(f.Data)
			pos = streamPos{file: f.File, offset: f.Offset}
		}
	}
}

// tailLines returns the last n lines of the stream's content and where
// they end.
func tailLines(open openStream, n int) ([]byte, streamPos, error) {
	for window := int64(tailWindow); ; window *= 4 {
		s, err := open(api.StreamOptions{Origin: api.OriginEnd, Offset: window})
		if err != nil {
			return nil, streamPos{}, err
		}
		data, pos, err := readAll(s)
		if err != nil {
			return nil, streamPos{}, err
		}
		if bytes.Count(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) >= n || int64(len(data)) < window {
			return lastLinesOf(data, n), pos, nil
		}
	}
}

// lastLinesOf keeps the last n lines of data; an unterminated last line
// counts as one.
func lastLinesOf(data []byte, n int) []byte {
	if n <= 0 {
		return nil
	}
	end := len(data)
	if end > 0 && data[end-1] == '\n' {
		end--
	}
	for i := end - 1; i >= 0; i-- {
		if data[i] == '\n' {
			if n--; n == 0 {
				return data[i+1:]
			}
		}
	}
	return data
}

// fileIndex is the rotation index of a log file name, or -1.
func fileIndex(name string) int {
	i := strings.LastIndexByte(name, '.')
	if i < 0 {
		return -1
	}
	n, err := strconv.Atoi(name[i+1:])
	if err != nil {
		return -1
	}
	return n
}

// alreadyPrinted returns how many leading bytes of f are at or before p.
func (p streamPos) alreadyPrinted(f *api.StreamFrame) int {
	if p.file == "" || len(f.Data) == 0 {
		return 0
	}
	if f.File != p.file {
		if fileIndex(f.File) < fileIndex(p.file) {
			return len(f.Data)
		}
		return 0
	}
	start := f.Offset - int64(len(f.Data))
	switch {
	case f.Offset <= p.offset:
		return len(f.Data)
	case start < p.offset:
		return int(p.offset - start)
	}
	return 0
}

// follow copies a following stream to w, skipping what ends at or before
// after, until ctx ends or the stream does.
func follow(ctx context.Context, open openStream, o api.StreamOptions, after streamPos, w io.Writer) error {
	o.Follow = true
	s, err := open(o)
	if err != nil {
		return err
	}
	defer s.Close()
	for {
		f, err := s.Next()
		if ctx.Err() != nil || errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if skip := after.alreadyPrinted(f); skip < len(f.Data) {
			if _, err := w.Write(f.Data[skip:]); err != nil {
				return err
			}
		}
	}
}

// tailOptions are the -tail, -n and -c flags of logs and fs.
type tailOptions struct {
	tail   bool
	lines  int
	bytes  int64
	follow bool
}

// run prints the stream per the options: everything, the last bytes, or
// the last lines; then follows if asked.
func (t tailOptions) run(ctx context.Context, open openStream, w io.Writer) error {
	switch {
	case t.lines > 0 || (t.tail && t.bytes <= 0):
		n := t.lines
		if n <= 0 {
			n = 10
		}
		data, pos, err := tailLines(open, n)
		if err != nil {
			return err
		}
		if _, err := w.Write(data); err != nil || !t.follow {
			return err
		}
		return follow(ctx, open, api.StreamOptions{Origin: api.OriginEnd, Offset: int64(len(data)) + followMargin}, pos, w)
	case t.bytes > 0:
		o := api.StreamOptions{Origin: api.OriginEnd, Offset: t.bytes}
		if t.follow {
			return follow(ctx, open, o, streamPos{}, w)
		}
		return copyStream(open, o, w)
	case t.follow:
		return follow(ctx, open, api.StreamOptions{Origin: api.OriginStart}, streamPos{}, w)
	}
	return copyStream(open, api.StreamOptions{Origin: api.OriginStart}, w)
}

func copyStream(open openStream, o api.StreamOptions, w io.Writer) error {
	s, err := open(o)
	if err != nil {
		return err
	}
	defer s.Close()
	_, err = io.Copy(w, s)
	return err
}
