package cli

import (
	"io"
	"strings"
	"testing"

	"github.com/roam-sh/roam/api"
)

func TestLastLinesOf(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"a\nb\nc\n", 2, "b\nc\n"},
		{"a\nb\nc", 2, "b\nc"},
		{"a\nb\n", 5, "a\nb\n"},
		{"", 3, ""},
		{"a\n", 0, ""},
	}
	for _, tc := range tests {
		if got := string(lastLinesOf([]byte(tc.in), tc.n)); got != tc.want {
			t.Errorf("lastLinesOf(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

func TestAlreadyPrinted(t *testing.T) {
	p := streamPos{file: "alloc/logs/web.stdout.3", offset: 100}
	frame := func(file string, end int64, n int) *api.StreamFrame {
		return &api.StreamFrame{File: file, Offset: end, Data: make([]byte, n)}
	}
	tests := []struct {
		f    *api.StreamFrame
		want int
	}{
		{frame("alloc/logs/web.stdout.2", 500, 50), 50}, // an older file
		{frame("alloc/logs/web.stdout.3", 90, 40), 40},  // before the position
		{frame("alloc/logs/web.stdout.3", 120, 40), 20}, // straddles it
		{frame("alloc/logs/web.stdout.3", 160, 40), 0},  // after it
		{frame("alloc/logs/web.stdout.4", 10, 10), 0},   // a newer file
	}
	for _, tc := range tests {
		if got := p.alreadyPrinted(tc.f); got != tc.want {
			t.Errorf("%s@%d: %d already printed, want %d", tc.f.File, tc.f.Offset, got, tc.want)
		}
	}
	if (streamPos{}).alreadyPrinted(frame("x.1", 5, 5)) != 0 {
		t.Error("an empty position skips output")
	}
}

func TestEscapeReader(t *testing.T) {
	tests := []struct {
		in, want     string
		disconnected bool
	}{
		{"ls\n", "ls\n", false},
		{"~.", "", true},
		{"echo\n~.ignored", "echo\n", true},
		{"a~.b\n", "a~.b\n", false}, // not at the start of a line
		{"~~x\n", "~x\n", false},
		{"~x\n", "~x\n", false},
	}
	for _, tc := range tests {
		disconnected := false
		r := newEscapeReader(strings.NewReader(tc.in), '~', func() { disconnected = true })
		var got strings.Builder
		buf := make([]byte, 3)
		for !disconnected {
			n, err := r.Read(buf)
			got.Write(buf[:n])
			if err == io.EOF {
				break
			}
		}
		if got.String() != tc.want || disconnected != tc.disconnected {
			t.Errorf("%q: sent %q disconnected=%v, want %q %v", tc.in, got.String(), disconnected, tc.want, tc.disconnected)
		}
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[uint64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 5 << 20: "5.0 MiB"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
