package fingerprint

import (
	"github.com/roam-sh/roam/internal/cgroups"
	"github.com/roam-sh/roam/structs"
)

// cgroupFingerprint reports the cgroup version the exec and java drivers use
// (os.cgroups.version, "1" or "2") and where it is mounted. A host without
// cgroups is still a node (raw_exec needs none): it just gets no attributes.
type cgroupFingerprint struct{}

func (cgroupFingerprint) Name() string { return "cgroup" }

func (cgroupFingerprint) Fingerprint(_ *Config, n *structs.Node) error {
	h, err := cgroups.Detect()
	if err != nil {
		return nil
	}
	v := h.Version().String()
	n.Attributes[structs.AttrOSCgroupsVersion] = v
	n.Attributes[structs.AttrCgroupVersion] = v
	n.Attributes[structs.AttrCgroupMountpoint] = h.Mountpoint()
	return nil
}
