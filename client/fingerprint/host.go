package fingerprint

import (
	"bufio"
	"os"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/roam-sh/roam/structs"
)

// hostFingerprint reports the kernel, the OS release and the hostname.
type hostFingerprint struct{}

func (hostFingerprint) Name() string { return "host" }

func (hostFingerprint) Fingerprint(_ *Config, n *structs.Node) error {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return err
	}
	n.Attributes[structs.AttrKernelName] = runtime.GOOS
	n.Attributes[structs.AttrKernelVersion] = unix.ByteSliceToString(u.Release[:])
	n.Attributes[structs.AttrKernelArch] = unix.ByteSliceToString(u.Machine[:])
	n.Attributes[structs.AttrCPUArch] = runtime.GOARCH
	host, err := os.Hostname()
	if err != nil {
		return err
	}
	n.Attributes[structs.AttrHostname] = host
	rel := osRelease("/etc/os-release")
	if v := rel["ID"]; v != "" {
		n.Attributes[structs.AttrOSName] = v
	}
	if v := rel["VERSION_ID"]; v != "" {
		n.Attributes[structs.AttrOSVersion] = v
	}
	return nil
}

// osRelease parses an os-release file (KEY=value, values maybe quoted).
func osRelease(path string) map[string]string {
	out := map[string]string{}
	f, err := os.Open(path)
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if ok && !strings.HasPrefix(k, "#") {
			out[k] = strings.Trim(v, `"'`)
		}
	}
	return out
}
