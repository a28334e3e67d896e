package executor

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/roam-sh/roam/internal/logfile"
	"github.com/roam-sh/roam/testutil"
)

func readLogs(t *testing.T, dir, base string) (idxs []int, all string) {
	t.Helper()
	idxs, err := logfile.Indexes(dir, base)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, i := range idxs {
		data, err := os.ReadFile(filepath.Join(dir, base+"."+itoa(i)))
		if err != nil {
			t.Fatal(err)
		}
		b.Write(data)
	}
	return idxs, b.String()
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestRotatorSplitsAtSizeAndKeepsMaxFiles(t *testing.T) {
	dir := t.TempDir()
	r, err := openRotator(&LogSpec{Dir: dir, Name: "web", MaxFiles: 3, MaxFileBytes: 10}, logfile.Stdout, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	input := "0123456789abcdefghijklmnopqrstuvwxyz!"
	for _, chunk := range []string{input[:3], input[3:21], input[21:22], input[22:]} {
		if n, err := r.Write([]byte(chunk)); err != nil || n != len(chunk) {
			t.Fatalf("write %q: %d %v", chunk, n, err)
		}
	}
	r.Close()
	idxs, all := readLogs(t, dir, "web.stdout")
	if !slices.Equal(idxs, []int{1, 2, 3}) || all != input[10:] {
		t.Fatalf("files %v content %q, want [1 2 3] %q", idxs, all, input[10:])
	}
	for i, want := range map[int]int64{1: 10, 2: 10, 3: 7} {
		if fi, err := os.Stat(filepath.Join(dir, "web.stdout."+itoa(i))); err != nil || fi.Size() != want {
			t.Errorf("file %d: %v %v, want %d bytes", i, fi, err, want)
		}
	}
}

func TestRotatorContinuesAtNextIndex(t *testing.T) {
	dir := t.TempDir()
	spec := &LogSpec{Dir: dir, Name: "web", MaxFiles: 5, MaxFileBytes: 100}
	// The client creates an empty index 0 before the first start: it is used.
	if err := os.WriteFile(filepath.Join(dir, "web.stderr.0"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for run, want := range [][]int{{0}, {0, 1}, {0, 1, 2}} {
		r, err := openRotator(spec, logfile.Stderr, testutil.Logger(t))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Write([]byte("run\n")); err != nil {
			t.Fatal(err)
		}
		r.Close()
		if idxs, _ := readLogs(t, dir, "web.stderr"); !slices.Equal(idxs, want) {
			t.Fatalf("after run %d: files %v, want %v", run, idxs, want)
		}
	}
	// Other streams and tasks are left alone.
	if idxs, _ := readLogs(t, dir, "web.stdout"); len(idxs) != 0 {
		t.Fatalf("stdout files %v", idxs)
	}
}

func TestTaskLogsDefaults(t *testing.T) {
	ls := (&LogSpec{Dir: "/x", Name: "web"}).withDefaults()
	if ls.MaxFiles != 10 || ls.MaxFileBytes != 10<<20 {
		t.Fatalf("defaults %+v", ls)
	}
}
