package sidecar

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
)

// rssFileKiB is the process's resident file-backed memory (RssFile).
func rssFileKiB(t *testing.T) int {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "RssFile:"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no RssFile in /proc/self/status")
	return 0
}

// written is data the process wrote: dropping the executable's read-only
// pages must leave it.
var written = map[string]int{}

// After the trim, the executable's pages that start-up touched no longer
// count in the process's RSS, and the process runs on (its code is read
// back as it runs; what it wrote is intact).
func TestTrimStartupDropsExecutablePages(t *testing.T) {
	written["kept"] = 42
	before := rssFileKiB(t)
	if err := trimStartup(); err != nil {
		t.Fatal(err)
	}
	after := rssFileKiB(t)
	t.Logf("RssFile %d KiB before, %d KiB after", before, after)
	if after >= before*3/4 {
		t.Fatalf("RssFile %d KiB after the trim, %d before: the executable's pages stayed mapped", after, before)
	}
	if written["kept"] != 42 {
		t.Fatal("writable data lost")
	}
	// Code and read-only data work after the trim.
	if got := strings.ToUpper(strconv.Itoa(written["kept"]) + "ok"); got != "42OK" {
		t.Fatalf("got %q", got)
	}
}

func TestReadOnlyMappingOf(t *testing.T) {
	exe := "/usr/bin/roam"
	for _, tc := range []struct {
		line string
		ok   bool
	}{
		{"00400000-01000000 r-xp 00000000 08:01 123 /usr/bin/roam", true},
		{"01000000-02000000 r--p 00c00000 08:01 123 /usr/bin/roam", true},
		{"02000000-02100000 rw-p 01c00000 08:01 123 /usr/bin/roam", false},
		{"02100000-02200000 rw-p 00000000 00:00 0 ", false},
		{"7f0000000000-7f0000100000 r-xp 00000000 08:01 9 /usr/lib/libc.so.6", false},
		{"00400000-01000000 r-xp 00000000 08:01 123 /usr/bin/roam-other", false},
	} {
		_, _, ok := readOnlyMappingOf(tc.line, exe)
		if ok != tc.ok {
			t.Errorf("%q: %v, want %v", tc.line, ok, tc.ok)
		}
	}
}

func TestWithSysmonAwake(t *testing.T) {
	for _, tc := range []struct {
		name   string
		env    []string
		want   []string
		reexec bool
	}{
		{"no GODEBUG", []string{"PATH=/bin"}, []string{"PATH=/bin", "GODEBUG=" + sysmonAwakeSetting}, true},
		{"empty GODEBUG", []string{"GODEBUG=", "A=b"}, []string{"GODEBUG=" + sysmonAwakeSetting, "A=b"}, true},
		{"other settings kept", []string{"GODEBUG=gctrace=1"}, []string{"GODEBUG=gctrace=1," + sysmonAwakeSetting}, true},
		{"operator's schedtrace wins", []string{"GODEBUG=gctrace=1,schedtrace=0"}, []string{"GODEBUG=gctrace=1,schedtrace=0"}, false},
		{"already re-executed", []string{"GODEBUG=" + sysmonAwakeSetting}, []string{"GODEBUG=" + sysmonAwakeSetting}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, reexec := withSysmonAwake(tc.env)
			if reexec != tc.reexec || strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Fatalf("withSysmonAwake(%q) = %q, %v; want %q, %v", tc.env, got, reexec, tc.want, tc.reexec)
			}
		})
	}
}
