package cgroups

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// v1Controllers are the v1 controllers roam uses; v1Required must be there.
var (
	v1Controllers = []string{"cpu", "cpuacct", "cpuset", "memory", "pids", "freezer"}
	v1Required    = []string{"cpu", "cpuacct", "cpuset", "memory"}
)

// Detect reads the mount table of the running process and returns the host's
// cgroup setup. A host with the v1 memory controller mounted is treated as v1
// (legacy or hybrid: the controllers live there); otherwise a cgroup2 mount
// makes it v2.
func Detect() (*Host, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("detect cgroups: %w", err)
	}
	defer f.Close()
	return parseMountinfo(f)
}

func parseMountinfo(r io.Reader) (*Host, error) {
	h := &Host{v1: map[string]string{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		mount, fstype, opts, ok := parseMountLine(sc.Text())
		if !ok {
			continue
		}
		switch fstype {
		case "cgroup2":
			if h.unified == "" {
				h.unified = mount
			}
		case "cgroup":
			for _, o := range strings.Split(opts, ",") {
				if slices.Contains(v1Controllers, o) && h.v1[o] == "" {
					h.v1[o] = mount
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("detect cgroups: read mountinfo: %w", err)
	}
	switch {
	case h.v1["memory"] != "":
		h.version = V1
	case h.unified != "":
		h.version = V2
	default:
		return nil, ErrNoCgroups
	}
	return h, nil
}

// parseMountLine returns a mountinfo line's mount point, filesystem type and
// super options. Optional fields end at the " - " separator.
func parseMountLine(line string) (mount, fstype, opts string, ok bool) {
	pre, post, found := strings.Cut(line, " - ")
	if !found {
		return "", "", "", false
	}
	f := strings.Fields(pre)
	p := strings.Fields(post)
	if len(f) < 5 || len(p) < 3 {
		return "", "", "", false
	}
	return unescapeOctal(f[4]), p[0], p[2], true
}

// unescapeOctal undoes the kernel's \ooo escaping of spaces and friends.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// uniqueMounts returns the distinct mount points of a v1 controller map
// (co-mounted controllers such as cpu,cpuacct share one).
func uniqueMounts(m map[string]string) []string {
	var out []string
	for _, c := range v1Controllers {
		if p := m[c]; p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}
