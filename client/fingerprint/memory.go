package fingerprint

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/roam-sh/roam/structs"
)

// memoryFingerprint reports the host's total memory.
type memoryFingerprint struct{}

func (memoryFingerprint) Name() string { return "memory" }

func (memoryFingerprint) Fingerprint(_ *Config, n *structs.Node) error {
	total, err := memTotal("/proc/meminfo")
	if err != nil {
		return err
	}
	n.Attributes[structs.AttrMemoryTotalBytes] = strconv.FormatUint(total, 10)
	n.NodeResources.Memory = structs.NodeMemoryResources{MemoryMB: int64(total / (1 << 20))}
	return nil
}

func memTotal(path string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseUint(fields[1], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse MemTotal: %w", err)
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("no MemTotal in %s", path)
}
