// Package cpuset reads and writes CPU core lists in the kernel's cpuset list
// notation ("0-2,7"), used by NOMAD_CPU_CORES, cpu.reservablecores and the
// client's reserved cores.
package cpuset

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Format writes cores sorted and de-duplicated: [7 0 1 2] → "0-2,7".
func Format(cores []uint16) string {
	c := slices.Clone(cores)
	slices.Sort(c)
	c = slices.Compact(c)
	var parts []string
	for i := 0; i < len(c); {
		j := i
		for j+1 < len(c) && c[j+1] == c[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, strconv.Itoa(int(c[i])))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", c[i], c[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// Parse reads a list such as "0-2,7" (spaces allowed; "" is empty).
func Parse(s string) ([]uint16, error) {
	var out []uint16
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseUint(strings.TrimSpace(lo), 10, 16)
		if err != nil {
			return nil, fmt.Errorf("cpuset %q: %w", s, err)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(strings.TrimSpace(hi), 10, 16); err != nil {
				return nil, fmt.Errorf("cpuset %q: %w", s, err)
			}
		}
		if b < a {
			return nil, fmt.Errorf("cpuset %q: range %s is backwards", s, part)
		}
		for i := a; i <= b; i++ {
			out = append(out, uint16(i))
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
