package structs

import "testing"

func TestIsDeclaredNodeAttr(t *testing.T) {
	cases := map[string]bool{
		AttrKernelName: true, AttrHostname: true, AttrNomadVersion: true, AttrDockerVersion: true,
		AttrDriver("raw_exec"): true, AttrDriver("docker"): true,
		AttrCNIPluginVersionPrefix + "bridge": true, AttrCNIUnavailablePrefix + "mynet": true,
		// Undeclared names, and families without a tail.
		"cpu.cores": false, "kernel": false, "": false, "driver.": false,
		AttrCNIPluginVersionPrefix: false, AttrCNIUnavailablePrefix: false,
		// A driver's details must be declared one by one.
		"driver.docker.undeclared": false, "driver.exec.version": false,
	}
	for name, want := range cases {
		if got := IsDeclaredNodeAttr(name); got != want {
			t.Errorf("IsDeclaredNodeAttr(%q) = %v, want %v", name, got, want)
		}
	}
	seen := map[string]bool{}
	for _, a := range NodeAttrs() {
		if seen[a] {
			t.Errorf("attribute %q declared twice", a)
		}
		seen[a] = true
	}
}
