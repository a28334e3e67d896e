// Package version holds roam's version, set at build time with
// -ldflags "-X github.com/roam-sh/roam/internal/version.Version=...".
package version

// Version is roam's release version.
var Version = "0.1.0-dev"

// NomadCompatible is the Nomad version whose job files and API shapes roam
// speaks; some clients look at it (the nomad.version node attribute).
const NomadCompatible = "1.9.7"
