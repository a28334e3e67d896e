package structs

import "strings"

// Node attribute names. Client fingerprinters and drivers write them into
// Node.Attributes; the scheduler, the task environment (${attr.*}) and jobs'
// constraints read them. They keep Nomad's spelling, so that a job
// constraining on ${attr.kernel.name} runs unchanged; names roam adds start
// with "roam.". Declared once here: a fingerprinter that writes a name not
// declared below fails TestFingerprintAttributesDeclared (client/fingerprint)
// and TestNodeAttributesDeclared (client).
//
// Names starting with "unique." differ on every node by design; they are left
// out of the node's computed class (see ComputeClass).
const (
	// Host (client/fingerprint/host.go).
	AttrKernelName    = "kernel.name"
	AttrKernelVersion = "kernel.version"
	AttrKernelArch    = "kernel.arch"
	AttrCPUArch       = "cpu.arch"
	AttrHostname      = "unique.hostname"
	AttrOSName        = "os.name"
	AttrOSVersion     = "os.version"

	// CPU and memory: what the scheduler packs against.
	AttrCPUNumCores        = "cpu.numcores"
	AttrCPUFrequency       = "cpu.frequency"
	AttrCPUTotalCompute    = "cpu.totalcompute"
	AttrCPUUsableCompute   = "cpu.usablecompute"
	AttrCPUReservableCores = "cpu.reservablecores"
	AttrCPUModelName       = "cpu.modelname"
	AttrMemoryTotalBytes   = "memory.totalbytes"

	// Cgroups and storage.
	AttrOSCgroupsVersion  = "os.cgroups.version"
	AttrCgroupVersion     = "unique.cgroup.version"
	AttrCgroupMountpoint  = "unique.cgroup.mountpoint"
	AttrStorageVolume     = "unique.storage.volume"
	AttrStorageBytesTotal = "unique.storage.bytestotal"
	AttrStorageBytesFree  = "unique.storage.bytesfree"

	// Networking. AttrNetworkIPAddress is the scheduler's last resort for a
	// port's host IP; AttrBridgeUnavailable says why the node offers no
	// bridge mode (the scheduler adds it to the "missing network" reason).
	AttrNetworkIPAddress  = "unique.network.ip-address"
	AttrBridgeHairpinMode = "nomad.bridge.hairpin_mode"
	AttrBridgeUnavailable = "roam.network.bridge.unavailable"

	// The agent. AttrNomadVersion is the Nomad version roam presents itself
	// as, for jobs that constrain on ${attr.nomad.version}. AttrNomadRegion
	// is what the scheduler reads for ${node.region}; no fingerprinter writes
	// it yet, so such a constraint matches no node.
	AttrNomadAdvertiseAddr = "nomad.advertise.address"
	AttrNomadVersion       = "nomad.version"
	AttrRoamVersion        = "roam.version"
	AttrNomadRegion        = "nomad.region"

	// Driver details, written by the drivers' fingerprints beside their
	// AttrDriver(name) presence attribute. The drivers spell these names
	// themselves: they may import nothing of ours but internal/ (layers.json,
	// "drivers know no cluster"), so this is where the names are declared
	// for readers, and TestNodeAttributesDeclared (client) fails when a
	// driver writes one that is not declared here.
	AttrDockerVersion           = "driver.docker.version"
	AttrDockerOSType            = "driver.docker.os_type"
	AttrDockerRuntimes          = "driver.docker.runtimes"
	AttrDockerPrivilegedEnabled = "driver.docker.privileged.enabled"
	AttrDockerVolumesEnabled    = "driver.docker.volumes.enabled"
	AttrJavaVersion             = "driver.java.version"
	AttrJavaRuntime             = "driver.java.runtime"
	AttrJavaVM                  = "driver.java.vm"
)

// Families of attribute names whose last part is a name chosen elsewhere.
const (
	// AttrDriverPrefix + a driver's name is "1" when the driver is detected
	// and usable (see AttrDriver); the scheduler's driver check reads it.
	AttrDriverPrefix = "driver."
	// AttrCNIPluginVersionPrefix + a CNI plugin's name is its version.
	AttrCNIPluginVersionPrefix = "plugins.cni.version."
	// AttrCNIUnavailablePrefix + a CNI network's name says why a network
	// configured on the node is not offered; the scheduler adds it to the
	// "missing network" reason.
	AttrCNIUnavailablePrefix = "roam.network.cni.unavailable."
)

// AttrDriver is the presence attribute of a driver: "driver.<name>".
func AttrDriver(name string) string { return AttrDriverPrefix + name }

// NodeAttrs lists every declared attribute name (not the families).
func NodeAttrs() []string {
	return []string{
		AttrKernelName, AttrKernelVersion, AttrKernelArch, AttrCPUArch, AttrHostname, AttrOSName, AttrOSVersion,
		AttrCPUNumCores, AttrCPUFrequency, AttrCPUTotalCompute, AttrCPUUsableCompute, AttrCPUReservableCores,
		AttrCPUModelName, AttrMemoryTotalBytes,
		AttrOSCgroupsVersion, AttrCgroupVersion, AttrCgroupMountpoint,
		AttrStorageVolume, AttrStorageBytesTotal, AttrStorageBytesFree,
		AttrNetworkIPAddress, AttrBridgeHairpinMode, AttrBridgeUnavailable,
		AttrNomadAdvertiseAddr, AttrNomadVersion, AttrRoamVersion, AttrNomadRegion,
		AttrDockerVersion, AttrDockerOSType, AttrDockerRuntimes, AttrDockerPrivilegedEnabled, AttrDockerVolumesEnabled,
		AttrJavaVersion, AttrJavaRuntime, AttrJavaVM,
	}
}

// NodeAttrPrefixes lists the declared families of names.
func NodeAttrPrefixes() []string {
	return []string{AttrDriverPrefix, AttrCNIPluginVersionPrefix, AttrCNIUnavailablePrefix}
}

// IsDeclaredNodeAttr reports whether name is a declared attribute or a member
// of a declared family. A driver's family holds only its presence attribute
// ("driver.<name>", no further dot): the details a driver writes must be
// declared one by one above.
func IsDeclaredNodeAttr(name string) bool {
	for _, a := range NodeAttrs() {
		if name == a {
			return true
		}
	}
	if driver, ok := strings.CutPrefix(name, AttrDriverPrefix); ok {
		return driver != "" && !strings.Contains(driver, ".")
	}
	for _, p := range NodeAttrPrefixes() {
		if tail, ok := strings.CutPrefix(name, p); ok && tail != "" {
			return true
		}
	}
	return false
}
