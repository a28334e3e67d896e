package drivers

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// defaultCPUMHz is assumed when the CPU does not report its frequency.
const defaultCPUMHz = 1000

// CPUMHz is one core's frequency from /proc/cpuinfo (1000 when it does not
// say), for drivers that turn CPU percentages into MHz (what Nomad calls
// ticks). It reads the file each call: drivers keep the value.
func CPUMHz() float64 {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return defaultCPUMHz
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "cpu MHz" {
			if mhz, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && mhz > 0 {
				return mhz
			}
		}
	}
	return defaultCPUMHz
}
