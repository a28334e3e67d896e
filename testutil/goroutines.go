package testutil

import (
	"runtime"
	"strings"
)

// GoroutinesIn counts the goroutines whose stack mentions every one of
// frames ("server.(*jobEndpoint).List"): tests use it to see that work on
// behalf of a caller that left has ended, on whichever side it ran.
func GoroutinesIn(frames ...string) int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		all := true
		for _, f := range frames {
			all = all && strings.Contains(g, f)
		}
		if all {
			count++
		}
	}
	return count
}
