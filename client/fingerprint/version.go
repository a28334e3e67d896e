package fingerprint

import "github.com/roam-sh/roam/structs"

// versionFingerprint reports roam's version and the Nomad version roam is
// compatible with.
type versionFingerprint struct{}

func (versionFingerprint) Name() string { return "version" }

func (versionFingerprint) Fingerprint(cfg *Config, n *structs.Node) error {
	n.Attributes[structs.AttrRoamVersion] = cfg.Version
	n.Attributes[structs.AttrNomadVersion] = cfg.NomadVersion
	n.Version = cfg.NomadVersion
	return nil
}
