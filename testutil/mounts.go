package testutil

import (
	"bufio"
	"os"
	"sort"
	"strings"
	"syscall"
	"testing"
)

// CleanupMounts registers a cleanup that unmounts everything still mounted
// under dir (tmpfs secrets dirs of allocations an agent left behind), deepest
// first, so t.TempDir can remove the tree. Register it before the agent
// whose leftovers it cleans, so that it runs after the agent stopped.
func CleanupMounts(t testing.TB, dir string) {
	t.Cleanup(func() {
		for _, m := range mountsUnder(dir) {
			if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil {
				t.Logf("unmount %s: %v", m, err)
			}
		}
	})
}

func mountsUnder(dir string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && strings.HasPrefix(fields[4], dir+"/") {
			out = append(out, fields[4])
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(out)))
	return out
}
