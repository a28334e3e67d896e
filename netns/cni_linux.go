package netns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
	types100 "github.com/containernetworking/cni/pkg/types/100"
	"github.com/vishvananda/netlink"
)

// Default CNI locations. Debian's containernetworking-plugins install to
// /usr/lib/cni, so the default search path has it after /opt/cni/bin.
const (
	DefaultCNIPath      = "/opt/cni/bin:/usr/lib/cni"
	DefaultCNIConfigDir = "/opt/cni/config"
)

// cniExtensions are the config file kinds read from the config dir.
var cniExtensions = []string{".conflist", ".conf", ".json"}

// CNI runs operator-defined CNI networks (mode "cni/<name>") through libcni.
type CNI struct {
	paths    []string
	confDir  string
	ifPrefix string
	cni      *libcni.CNIConfig
	logger   *slog.Logger
}

// NewCNI uses the plugins found on path (colon-separated) and the configs in
// confDir; interfaces inside namespaces are named ifPrefix0, ifPrefix1...
func NewCNI(path, confDir, ifPrefix string, logger *slog.Logger) *CNI {
	if ifPrefix == "" {
		ifPrefix = "eth"
	}
	paths := filepath.SplitList(path)
	return &CNI{
		paths: paths, confDir: confDir, ifPrefix: ifPrefix,
		cni:    libcni.NewCNIConfig(paths, nil),
		logger: logger.With("component", "netns", "cni_dir", confDir),
	}
}

// Networks returns the network names defined in the config dir with the
// file defining each. A name defined twice keeps its first file (in name
// order) and the other is reported in warnings.
func (c *CNI) Networks() (map[string]string, []string) {
	files, err := libcni.ConfFiles(c.confDir, cniExtensions)
	if err != nil || len(files) == 0 {
		return nil, nil
	}
	slices.Sort(files)
	out := map[string]string{}
	var warnings []string
	for _, f := range files {
		list, err := loadConfList(f)
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("%s: %v", f, err))
			continue
		}
		if prev, ok := out[list.Name]; ok {
			warnings = append(warnings, fmt.Sprintf("%s: network %q already defined in %s; ignored", f, list.Name, prev))
			continue
		}
		out[list.Name] = f
	}
	return out, warnings
}

func loadConfList(file string) (*libcni.NetworkConfigList, error) {
	if strings.HasSuffix(file, ".conflist") {
		return libcni.ConfListFromFile(file)
	}
	conf, err := libcni.ConfFromFile(file)
	if err != nil {
		return nil, err
	}
	return libcni.ConfListFromConf(conf)
}

// Load returns the named network's config list.
func (c *CNI) Load(name string) (*libcni.NetworkConfigList, error) {
	nets, _ := c.Networks()
	file, ok := nets[name]
	if !ok {
		return nil, fmt.Errorf("%w for name %q in %s", ErrNetworkNotFound, name, c.confDir)
	}
	return loadConfList(file)
}

// MissingPlugins lists the plugin types of a network not found on the path.
func (c *CNI) MissingPlugins(list *libcni.NetworkConfigList) []string {
	var out []string
	for _, p := range list.Plugins {
		if _, err := c.findPlugin(p.Network.Type); err != nil {
			out = append(out, p.Network.Type)
		}
	}
	return out
}

func (c *CNI) findPlugin(name string) (string, error) {
	for _, dir := range c.paths {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("CNI plugin %q not found in %s", name, strings.Join(c.paths, ":"))
}

func (c *CNI) runtime(req *Request) *libcni.RuntimeConf {
	args := [][2]string{{"IgnoreUnknown", "true"}}
	for _, k := range slices.Sorted(maps.Keys(req.Args)) {
		if v := req.Args[k]; !strings.Contains(k+v, ";") {
			args = append(args, [2]string{k, v})
		}
	}
	var mappings []map[string]any
	for _, p := range req.Ports {
		for _, proto := range Protocols {
			m := map[string]any{"hostPort": p.HostPort, "containerPort": p.ContainerPort, "protocol": proto}
			if p.HostIP != "" {
				m["hostIP"] = p.HostIP
			}
			mappings = append(mappings, m)
		}
	}
	rt := &libcni.RuntimeConf{ContainerID: req.AllocID, NetNS: req.NSPath, IfName: c.ifPrefix + "0", Args: args}
	if len(mappings) > 0 {
		rt.CapabilityArgs = map[string]any{"portMappings": mappings}
	}
	return rt
}

// Setup runs ADD for the named network, retrying transient failures.
func (c *CNI) Setup(ctx context.Context, name string, req *Request) (*Status, error) {
	if err := validateRequest(req); err != nil {
		return nil, err
	}
	list, err := c.Load(name)
	if err != nil {
		return nil, err
	}
	if missing := c.MissingPlugins(list); len(missing) > 0 {
		return nil, fmt.Errorf("CNI network %q: plugins %s not found in %s", name, strings.Join(missing, ", "), strings.Join(c.paths, ":"))
	}
	rt := c.runtime(req)
	var errs []error
	for attempt := range 3 {
		res, err := c.cni.AddNetworkList(ctx, list, rt)
		if err == nil {
			return statusFromResult(res)
		}
		errs = append(errs, err)
		c.logger.Warn("CNI ADD failed", "network", name, "alloc_id", req.AllocID, "attempt", attempt+1, "error", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
	return nil, fmt.Errorf("failed to configure network %q: %w", name, errs[0])
}

// Restore returns the status of a network set up earlier (by a previous
// client process) when Check passes; an error means it must be set up
// again (Teardown, then Setup).
func (c *CNI) Restore(ctx context.Context, name string, req *Request) (*Status, error) {
	if err := c.Check(ctx, name, req); err != nil {
		return nil, err
	}
	return c.cached(name, req)
}

func (c *CNI) cached(name string, req *Request) (*Status, error) {
	list, err := c.Load(name)
	if err != nil {
		return nil, err
	}
	res, err := c.cni.GetNetworkListCachedResult(list, c.runtime(req))
	if err != nil || res == nil {
		return nil, fmt.Errorf("no cached CNI result for alloc %s: %v", req.AllocID, err)
	}
	return statusFromResult(res)
}

// Check runs CHECK for the named network. Plugins whose CHECK is broken
// (Debian's portmap 1.1 looks for an IPv6 chain it never made) would fail
// every time, so a failed CHECK is followed by roam's own: the cached
// result's interface must be in the namespace with its address.
func (c *CNI) Check(ctx context.Context, name string, req *Request) error {
	list, err := c.Load(name)
	if err != nil {
		return err
	}
	cerr := c.cni.CheckNetworkList(ctx, list, c.runtime(req))
	if cerr == nil {
		return nil
	}
	st, err := c.cached(name, req)
	if err != nil {
		return fmt.Errorf("CNI CHECK: %w", cerr)
	}
	err = withHandle(req.NSPath, func(h *netlink.Handle) error {
		link, err := h.LinkByName(st.InterfaceName)
		if err != nil {
			return err
		}
		if !hasAddr(h, link, netip.PrefixFrom(st.Address, 32)) && !hasAddrIP(h, link, st.Address) {
			return fmt.Errorf("%s lacks %s", st.InterfaceName, st.Address)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("CNI network of alloc %s: %w", req.AllocID, err)
	}
	c.logger.Debug("CNI CHECK failed but the namespace is as the ADD left it", "network", name, "alloc_id", req.AllocID, "check_error", cerr)
	return nil
}

// Teardown runs DEL for the named network; a missing config or namespace
// is not an error (there is nothing the plugins could do).
func (c *CNI) Teardown(ctx context.Context, name string, req *Request) error {
	list, err := c.Load(name)
	if err != nil {
		return err
	}
	if err := c.cni.DelNetworkList(ctx, list, c.runtime(req)); err != nil {
		return fmt.Errorf("CNI DEL %q for alloc %s: %w", name, req.AllocID, err)
	}
	return nil
}

// statusFromResult picks the first IPv4 address of an interface inside the
// namespace (interfaces with a sandbox), by interface name.
func statusFromResult(res types.Result) (*Status, error) {
	cur, err := types100.NewResultFromResult(res)
	if err != nil {
		return nil, fmt.Errorf("CNI result: %w", err)
	}
	st := &Status{DNSServers: cur.DNS.Nameservers, DNSSearches: cur.DNS.Search, DNSOptions: cur.DNS.Options}
	type cand struct {
		name string
		addr netip.Addr
	}
	var cands []cand
	for _, ip := range cur.IPs {
		if ip.Interface == nil || *ip.Interface < 0 || *ip.Interface >= len(cur.Interfaces) {
			continue
		}
		iface := cur.Interfaces[*ip.Interface]
		a, ok := netip.AddrFromSlice(ip.Address.IP)
		if iface.Sandbox == "" || !ok || !a.Unmap().Is4() {
			continue
		}
		cands = append(cands, cand{iface.Name, a.Unmap()})
		if ip.Gateway != nil && !st.Gateway.IsValid() {
			st.Gateway, _ = netip.AddrFromSlice(ip.Gateway.To4())
		}
	}
	if len(cands) == 0 {
		return nil, errors.New("CNI result: no interface with an address")
	}
	slices.SortStableFunc(cands, func(a, b cand) int { return strings.Compare(a.name, b.name) })
	st.InterfaceName, st.Address = cands[0].name, cands[0].addr
	return st, nil
}

var versionRe = regexp.MustCompile(`version (v?[0-9][^\s,]*|unknown)`)

// PluginVersions runs each executable on the path with --version and
// returns plugin name → version ("unknown" when it does not say).
func PluginVersions(path string) map[string]string {
	out := map[string]string{}
	for _, dir := range filepath.SplitList(path) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if _, seen := out[e.Name()]; seen || e.IsDir() {
				continue
			}
			out[e.Name()] = pluginVersion(filepath.Join(dir, e.Name()))
		}
	}
	return out
}

func pluginVersion(bin string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--version")
	cmd.Env = []string{}
	b, _ := cmd.CombinedOutput()
	if m := versionRe.FindSubmatch(b); m != nil {
		return strings.TrimPrefix(string(m[1]), "v")
	}
	return "unknown"
}
