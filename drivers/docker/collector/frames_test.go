package collector

import (
	"bytes"
	"encoding/binary"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func frame(stream byte, ts time.Time, text string) []byte {
	payload := ts.Format(time.RFC3339Nano) + " " + text
	hdr := make([]byte, frameHeaderLen)
	hdr[0] = stream
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(payload)))
	return append(hdr, payload...)
}

func TestReadMessages(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	var stream bytes.Buffer
	stream.Write(frame(streamStdout, t0, "out 1\n"))
	stream.Write(frame(streamStderr, t0.Add(time.Microsecond), "a long line, first part "))
	stream.Write(frame(streamStderr, t0.Add(2*time.Microsecond), "and its end\n"))
	var got []message
	err := readMessages(&stream, func(m message) error {
		m.text = append([]byte(nil), m.text...)
		got = append(got, m)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || string(got[0].text) != "out 1\n" || got[0].stream != streamStdout || !got[0].ts.Equal(t0) ||
		string(got[1].text)+string(got[2].text) != "a long line, first part and its end\n" {
		t.Fatalf("messages %+v", got)
	}

	bad := frame(streamSystem, t0, "")
	bad = append(bad[:frameHeaderLen:frameHeaderLen], []byte("boom")...)
	binary.BigEndian.PutUint32(bad[4:], 4)
	if err := readMessages(bytes.NewReader(bad), func(message) error { return nil }); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("system frame: %v", err)
	}
	truncated := frame(streamStdout, t0, "cut")[:frameHeaderLen+3]
	if err := readMessages(bytes.NewReader(truncated), func(message) error { return nil }); err == nil {
		t.Fatal("truncated frame accepted")
	}
}

// After a break, a renewed stream repeats what was written; the cursor
// drops exactly that, per stream, even with equal timestamps.
func TestCursorDropsWhatWasWritten(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	msgs := []message{
		{stream: streamStdout, ts: t0, text: []byte("a")},
		{stream: streamStdout, ts: t0, text: []byte("b")}, // same nanosecond
		{stream: streamStderr, ts: t0.Add(-time.Microsecond), text: []byte("e1")},
		{stream: streamStdout, ts: t0.Add(time.Second), text: []byte("c")},
		{stream: streamStderr, ts: t0.Add(time.Second), text: []byte("e2")},
	}
	var c Cursor
	for _, m := range msgs[:3] { // a, b and e1 were written before the break
		c.advance(m.stream, m.ts)
	}
	if s := c.since(); !s.Equal(t0.Add(-time.Microsecond - time.Nanosecond)) {
		t.Fatalf("since %v", s)
	}
	d := newDedup(c)
	var fresh []string
	for _, m := range msgs { // the daemon sends everything from since on
		if d.fresh(m) {
			fresh = append(fresh, string(m.text))
		}
	}
	if strings.Join(fresh, " ") != "c e2" {
		t.Fatalf("fresh after the break: %v, want [c e2]", fresh)
	}
	if (&Cursor{}).since() != (time.Time{}) {
		t.Fatal("an empty cursor must ask for everything")
	}
}

func TestCursorSaveLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cursor.json")
	if c, err := loadCursor(path); err != nil || c != (Cursor{}) {
		t.Fatalf("missing cursor: %+v %v", c, err)
	}
	var c Cursor
	c.advance(streamStderr, time.Unix(100, 5).UTC())
	c.advance(streamStderr, time.Unix(100, 5).UTC())
	if err := saveCursor(path, c); err != nil {
		t.Fatal(err)
	}
	got, err := loadCursor(path)
	if err != nil || !got.Stderr.Time.Equal(c.Stderr.Time) || got.Stderr.Count != 2 || !got.Stdout.Time.IsZero() {
		t.Fatalf("loaded %+v %v", got, err)
	}
}
