package fingerprint

import (
	"bufio"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/roam-sh/roam/internal/cpuset"
	"github.com/roam-sh/roam/structs"
)

// defaultCPUMHz is assumed when the CPU does not report its frequency.
const defaultCPUMHz = 1000

// cpuFingerprint reports the usable cores and their compute in MHz.
type cpuFingerprint struct{}

func (cpuFingerprint) Name() string { return "cpu" }

func (cpuFingerprint) Fingerprint(cfg *Config, n *structs.Node) error {
	cores, err := usableCores()
	if err != nil {
		return err
	}
	info := cpuInfo("/proc/cpuinfo")
	mhz := cpuMHz(info)
	total := int64(len(cores)) * mhz
	reservable := slices.DeleteFunc(slices.Clone(cores), func(c uint16) bool { return slices.Contains(cfg.ReservedCores, c) })

	n.Attributes[structs.AttrCPUNumCores] = strconv.Itoa(len(cores))
	n.Attributes[structs.AttrCPUFrequency] = strconv.FormatInt(mhz, 10)
	n.Attributes[structs.AttrCPUTotalCompute] = strconv.FormatInt(total, 10)
	n.Attributes[structs.AttrCPUUsableCompute] = strconv.FormatInt(int64(len(reservable))*mhz, 10)
	n.Attributes[structs.AttrCPUReservableCores] = cpuset.Format(reservable)
	if m := info["model name"]; m != "" {
		n.Attributes[structs.AttrCPUModelName] = m
	}
	n.NodeResources.Cpu = structs.NodeCpuResources{
		CpuShares: total, TotalCpuCores: uint16(len(cores)), ReservableCpuCores: reservable,
	}
	return nil
}

// usableCores lists the cores this process may run on.
func usableCores() ([]uint16, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, err
	}
	var out []uint16
	for i := 0; i < len(set)*64; i++ {
		if set.IsSet(i) {
			out = append(out, uint16(i))
		}
	}
	return out, nil
}

// cpuInfo returns the first processor's fields from /proc/cpuinfo.
func cpuInfo(path string) map[string]string {
	out := map[string]string{}
	f, err := os.Open(path)
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" && len(out) > 0 {
			break
		}
		if k, v, ok := strings.Cut(line, ":"); ok {
			out[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return out
}

// cpuMHz prefers the maximum frequency cpufreq reports over /proc/cpuinfo's
// current one, which varies with load.
func cpuMHz(info map[string]string) int64 {
	if b, err := os.ReadFile("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq"); err == nil {
		if khz, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && khz > 0 {
			return khz / 1000
		}
	}
	if f, err := strconv.ParseFloat(info["cpu MHz"], 64); err == nil && f > 0 {
		return int64(f)
	}
	return defaultCPUMHz
}
