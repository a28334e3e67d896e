package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// fileConfig is the shape of an agent configuration file. Scalars are pointers
// so that a file only overrides what it sets; merge() lays it over defaults.
type fileConfig struct {
	DataDir    *string `hcl:"data_dir,optional"`
	BindAddr   *string `hcl:"bind_addr,optional"`
	Region     *string `hcl:"region,optional"`
	Datacenter *string `hcl:"datacenter,optional"`
	Name       *string `hcl:"name,optional"`
	LogLevel   *string `hcl:"log_level,optional"`
	LogJSON    *bool   `hcl:"log_json,optional"`
	// EnableDebug serves /debug/pprof/ on the HTTP port (profiling).
	EnableDebug *bool          `hcl:"enable_debug,optional"`
	Ports       *filePorts     `hcl:"ports,block"`
	Advertise   *fileAdvertise `hcl:"advertise,block"`
	HTTPAPI     *fileHTTPAPI   `hcl:"http_api,block"`
	Server      *fileServer    `hcl:"server,block"`
	Client      *fileClient    `hcl:"client,block"`
	Plugins     []*filePlugin  `hcl:"plugin,block"`
	Limits      *fileLimits    `hcl:"limits,block"`
	DNS         *fileDNS       `hcl:"dns,block"`
	TLS         *fileTLS       `hcl:"tls,block"`
	Remain      hcl.Body       `hcl:",remain"`
}

// fileLimits bound the work of one request (docs/security.md).
type fileLimits struct {
	JobParseTimeout     *string `hcl:"job_parse_timeout,optional"`
	JobParseCPU         *string `hcl:"job_parse_cpu,optional"`
	JobParseMaxMemoryMB *int    `hcl:"job_parse_max_memory_mb,optional"`
	JobParseMaxOutputMB *int    `hcl:"job_parse_max_output_mb,optional"`
	// Upper bounds on a job's numeric fields at admission
	// (server.JobLimits); -1 removes a bound.
	JobMaxTaskCPU      *int `hcl:"job_max_task_cpu,optional"`
	JobMaxTaskCores    *int `hcl:"job_max_task_cores,optional"`
	JobMaxTaskMemoryMB *int `hcl:"job_max_task_memory_mb,optional"`
	JobMaxDiskMB       *int `hcl:"job_max_disk_mb,optional"`
	JobMaxGroupCount   *int `hcl:"job_max_group_count,optional"`
	// HTTPMaxConnsPerClient caps the HTTP connections one client address
	// holds at once; 0 removes the cap.
	HTTPMaxConnsPerClient *int `hcl:"http_max_conns_per_client,optional"`
}

type filePorts struct {
	HTTP *int `hcl:"http,optional"`
	RPC  *int `hcl:"rpc,optional"`
	Serf *int `hcl:"serf,optional"`
	DNS  *int `hcl:"dns,optional"`
}

type fileAdvertise struct {
	HTTP *string `hcl:"http,optional"`
	RPC  *string `hcl:"rpc,optional"`
	Serf *string `hcl:"serf,optional"`
}

type fileServer struct {
	Enabled         *bool `hcl:"enabled,optional"`
	BootstrapExpect *int  `hcl:"bootstrap_expect,optional"`
	NumSchedulers   *int  `hcl:"num_schedulers,optional"`
	// MaxPlacementsPerEval bounds the allocations one evaluation places.
	MaxPlacementsPerEval *int `hcl:"max_placements_per_eval,optional"`
	// EventBufferSize is how many log entries' events are kept for the
	// event stream.
	EventBufferSize *int      `hcl:"event_buffer_size,optional"`
	HeartbeatGrace  *string   `hcl:"heartbeat_grace,optional"`
	EvalGCThreshold *string   `hcl:"eval_gc_threshold,optional"`
	JobGCThreshold  *string   `hcl:"job_gc_threshold,optional"`
	NodeGCThreshold *string   `hcl:"node_gc_threshold,optional"`
	DeploymentGC    *string   `hcl:"deployment_gc_threshold,optional"`
	JobGCInterval   *string   `hcl:"job_gc_interval,optional"`
	RootKeyRotation *string   `hcl:"root_key_rotation_threshold,optional"`
	RootKeyGC       *string   `hcl:"root_key_gc_threshold,optional"`
	RootKeyGCEvery  *string   `hcl:"root_key_gc_interval,optional"`
	OIDCIssuer      *string   `hcl:"oidc_issuer,optional"`
	ServerJoin      *fileJoin `hcl:"server_join,block"`
	// RaftMultiplier scales Raft's timeouts (docs/cluster.md).
	RaftMultiplier       *int    `hcl:"raft_multiplier,optional"`
	FailoverHeartbeatTTL *string `hcl:"failover_heartbeat_ttl,optional"`

	// ConnectLeafTTL is the mesh leaf certificates' lifetime (docs/mesh.md).
	ConnectLeafTTL *string `hcl:"connect_leaf_cert_ttl,optional"`
}

type fileJoin struct {
	RetryJoin []string `hcl:"retry_join,optional"`
}

type fileClient struct {
	Enabled            *bool         `hcl:"enabled,optional"`
	Servers            []string      `hcl:"servers,optional"`
	StateDir           *string       `hcl:"state_dir,optional"`
	AllocDir           *string       `hcl:"alloc_dir,optional"`
	NetworkInterface   *string       `hcl:"network_interface,optional"`
	NodeClass          *string       `hcl:"node_class,optional"`
	NodePool           *string       `hcl:"node_pool,optional"`
	Reserved           *fileReserved `hcl:"reserved,block"`
	MinDynamicPort     *int          `hcl:"min_dynamic_port,optional"`
	MaxDynamicPort     *int          `hcl:"max_dynamic_port,optional"`
	MaxKillTimeout     *string       `hcl:"max_kill_timeout,optional"`
	CNIPath            *string       `hcl:"cni_path,optional"`
	CNIConfigDir       *string       `hcl:"cni_config_dir,optional"`
	BridgeName         *string       `hcl:"bridge_network_name,optional"`
	BridgeSubnet       *string       `hcl:"bridge_network_subnet,optional"`
	BridgeHairpin      *bool         `hcl:"bridge_network_hairpin_mode,optional"`
	CNIInterfacePrefix *string       `hcl:"cni_interface_prefix,optional"`
	// roam's own: chain and veth names, for several clients on one host.
	BridgeChainPrefix *string `hcl:"bridge_network_chain_prefix,optional"`
	BridgeVethPrefix  *string `hcl:"bridge_network_veth_prefix,optional"`
	BridgeFirewall    *string `hcl:"bridge_network_firewall,optional"`
	DisableBridge     *bool   `hcl:"disable_bridge_network,optional"`
	// The mesh's default for pairs no intention matches (docs/mesh.md).
	DefaultIntentionPolicy *string            `hcl:"default_intention_policy,optional"`
	NetworkRepair          *string            `hcl:"network_repair_interval,optional"`
	CgroupParent           *string            `hcl:"cgroup_parent,optional"`
	HostVolumes            []*fileHostVolume  `hcl:"host_volume,block"`
	HostNetworks           []*fileHostNetwork `hcl:"host_network,block"`
	GCInterval             *string            `hcl:"gc_interval,optional"`
	GCMaxAllocs            *int               `hcl:"gc_max_allocs,optional"`
	GCDiskUsage            *float64           `hcl:"gc_disk_usage_threshold,optional"`
	GCInodeUsage           *float64           `hcl:"gc_inode_usage_threshold,optional"`
	FSMaxReadBytes         *int64             `hcl:"fs_max_read_bytes,optional"`
	Artifact               *fileArtifact      `hcl:"artifact,block"`
	// Remain holds meta, options and chroot_env, which may be written either as
	// blocks (meta { a = "b" }) or as attributes (meta = { "a.b" = "c" }).
	Remain hcl.Body `hcl:",remain"`

	// Filled from Remain by decodeClientMaps.
	Meta      map[string]string
	Options   map[string]string
	ChrootEnv map[string]string
}

// clientMapNames are the string maps a client block may hold in either form.
var clientMapNames = []string{"meta", "options", "chroot_env"}

// decodeClientMaps reads meta, options and chroot_env from whatever the
// struct decoder left over, and rejects anything else with its position.
func (c *fileClient) decodeClientMaps() error {
	if c.Remain == nil {
		return nil
	}
	var schema hcl.BodySchema
	for _, n := range clientMapNames {
		schema.Blocks = append(schema.Blocks, hcl.BlockHeaderSchema{Type: n})
	}
	content, rest, diags := c.Remain.PartialContent(&schema)
	if diags.HasErrors() {
		return diagError(diags)
	}
	maps := map[string]map[string]string{}
	for _, b := range content.Blocks {
		m, err := stringMap(b.Body)
		if err != nil {
			return err
		}
		maps[b.Type] = mergeStrings(maps[b.Type], m)
	}
	var attrSchema hcl.BodySchema
	for _, n := range clientMapNames {
		attrSchema.Attributes = append(attrSchema.Attributes, hcl.AttributeSchema{Name: n})
	}
	attrContent, leftover, diags := rest.PartialContent(&attrSchema)
	if diags.HasErrors() {
		return diagError(diags)
	}
	for name, a := range attrContent.Attributes {
		m, err := objectStrings(a)
		if err != nil {
			return err
		}
		maps[name] = mergeStrings(maps[name], m)
	}
	// Whatever is still left is unknown to the client block.
	if err := rejectRemain(leftover); err != nil {
		return err
	}
	c.Meta, c.Options, c.ChrootEnv = maps["meta"], maps["options"], maps["chroot_env"]
	return nil
}

func objectStrings(a *hcl.Attribute) (map[string]string, error) {
	v, diags := a.Expr.Value(nil)
	if diags.HasErrors() {
		return nil, diagError(diags)
	}
	r := a.Expr.Range()
	if !v.Type().IsObjectType() && !v.Type().IsMapType() {
		return nil, fmt.Errorf("%s:%d:%d: %s must be a map of strings", r.Filename, r.Start.Line, r.Start.Column, a.Name)
	}
	out := map[string]string{}
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		s, err := ctyString(e)
		if err != nil {
			return nil, fmt.Errorf("%s:%d:%d: %s[%q]: %w", r.Filename, r.Start.Line, r.Start.Column, a.Name, k.AsString(), err)
		}
		out[k.AsString()] = s
	}
	return out, nil
}

func mergeStrings(dst, src map[string]string) map[string]string {
	if dst == nil {
		dst = map[string]string{}
	}
	for k, v := range src {
		dst[k] = v
	}
	return dst
}

type fileReserved struct {
	CPU           *int    `hcl:"cpu,optional"`
	Cores         *string `hcl:"cores,optional"`
	Memory        *int    `hcl:"memory,optional"`
	Disk          *int    `hcl:"disk,optional"`
	ReservedPorts *string `hcl:"reserved_ports,optional"`
}

type fileHostVolume struct {
	Name     string `hcl:"name,label"`
	Path     string `hcl:"path"`
	ReadOnly bool   `hcl:"read_only,optional"`
}

type fileHostNetwork struct {
	Name          string  `hcl:"name,label"`
	CIDR          *string `hcl:"cidr,optional"`
	Interface     *string `hcl:"interface,optional"`
	ReservedPorts *string `hcl:"reserved_ports,optional"`
}

type filePlugin struct {
	Name   string            `hcl:"name,label"`
	Config *filePluginConfig `hcl:"config,block"`
}

type filePluginConfig struct {
	Body hcl.Body `hcl:",remain"`
}

// loadConfigPaths reads every path (a file, or a directory whose .hcl and .json
// files are read in lexical order) and merges them over base in order.
func loadConfigPaths(base *Config, paths []string) error {
	for _, p := range paths {
		files, err := configFiles(p)
		if err != nil {
			return err
		}
		for _, f := range files {
			src, err := os.ReadFile(f)
			if err != nil {
				return fmt.Errorf("read config %s: %w", f, err)
			}
			fc, err := parseConfigFile(f, src)
			if err != nil {
				return err
			}
			if err := base.merge(fc); err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
		}
	}
	return nil
}

func configFiles(p string) ([]string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("config path: %w", err)
	}
	if !st.IsDir() {
		return []string{p}, nil
	}
	entries, err := os.ReadDir(p)
	if err != nil {
		return nil, fmt.Errorf("read config dir: %w", err)
	}
	var out []string
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if !e.IsDir() && (ext == ".hcl" || ext == ".json") {
			out = append(out, filepath.Join(p, e.Name()))
		}
	}
	sort.Strings(out)
	return out, nil
}

// parseConfigFile decodes one file strictly: unknown blocks and attributes are
// errors that name file:line:column.
func parseConfigFile(name string, src []byte) (*fileConfig, error) {
	p := hclparse.NewParser()
	var f *hcl.File
	var diags hcl.Diagnostics
	if strings.HasSuffix(name, ".json") {
		f, diags = p.ParseJSON(src, name)
	} else {
		f, diags = p.ParseHCL(src, name)
	}
	if diags.HasErrors() {
		return nil, diagError(diags)
	}
	var fc fileConfig
	if diags := gohcl.DecodeBody(f.Body, nil, &fc); diags.HasErrors() {
		return nil, diagError(diags)
	}
	if err := rejectRemain(fc.Remain); err != nil {
		return nil, err
	}
	if fc.Client != nil {
		if err := fc.Client.decodeClientMaps(); err != nil {
			return nil, err
		}
	}
	return &fc, nil
}

// rejectRemain turns any leftover (unknown) content into a positioned error.
func rejectRemain(body hcl.Body) error {
	if body == nil {
		return nil
	}
	_, diags := body.Content(&hcl.BodySchema{})
	if diags.HasErrors() {
		return diagError(diags)
	}
	return nil
}

// stringMap decodes a block body of string attributes (meta { a = "b" }).
func stringMap(body hcl.Body) (map[string]string, error) {
	attrs, diags := body.JustAttributes()
	if diags.HasErrors() {
		return nil, diagError(diags)
	}
	out := map[string]string{}
	for name, a := range attrs {
		v, diags := a.Expr.Value(nil)
		if diags.HasErrors() {
			return nil, diagError(diags)
		}
		s, err := ctyString(v)
		if err != nil {
			r := a.Expr.Range()
			return nil, fmt.Errorf("%s: %s: %w", r.String(), name, err)
		}
		out[name] = s
	}
	return out, nil
}

// pluginConfigMap decodes a plugin's config block generically. In HCL
// files nested blocks (docker's `volumes { enabled = true }`) become lists
// of maps, as in a job's driver config; JSON files give attributes only.
func pluginConfigMap(body hcl.Body) (map[string]any, error) {
	if sb, ok := body.(*hclsyntax.Body); ok {
		return syntaxBodyMap(sb)
	}
	attrs, diags := body.JustAttributes()
	if diags.HasErrors() {
		return nil, diagError(diags)
	}
	out := map[string]any{}
	for name, a := range attrs {
		v, diags := a.Expr.Value(nil)
		if diags.HasErrors() {
			return nil, diagError(diags)
		}
		out[name] = ctyToGo(v)
	}
	return out, nil
}

func syntaxBodyMap(b *hclsyntax.Body) (map[string]any, error) {
	out := map[string]any{}
	for name, a := range b.Attributes {
		v, diags := a.Expr.Value(nil)
		if diags.HasErrors() {
			return nil, diagError(diags)
		}
		out[name] = ctyToGo(v)
	}
	for _, blk := range b.Blocks {
		m, err := syntaxBodyMap(blk.Body)
		if err != nil {
			return nil, err
		}
		list, _ := out[blk.Type].([]any)
		out[blk.Type] = append(list, m)
	}
	return out, nil
}

func ctyString(v cty.Value) (string, error) {
	if v.IsNull() || !v.IsKnown() {
		return "", fmt.Errorf("value must be set")
	}
	switch v.Type() {
	case cty.String:
		return v.AsString(), nil
	case cty.Number:
		return v.AsBigFloat().Text('f', -1), nil
	case cty.Bool:
		if v.True() {
			return "true", nil
		}
		return "false", nil
	}
	return "", fmt.Errorf("must be a string, number or bool, not %s", v.Type().FriendlyName())
}

func ctyToGo(v cty.Value) any {
	if v.IsNull() || !v.IsKnown() {
		return nil
	}
	t := v.Type()
	switch {
	case t == cty.String:
		return v.AsString()
	case t == cty.Bool:
		return v.True()
	case t == cty.Number:
		if i, acc := v.AsBigFloat().Int64(); acc == 0 {
			return i
		}
		f, _ := v.AsBigFloat().Float64()
		return f
	case t.IsListType() || t.IsTupleType() || t.IsSetType():
		var out []any
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			out = append(out, ctyToGo(e))
		}
		return out
	case t.IsMapType() || t.IsObjectType():
		out := map[string]any{}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			out[k.AsString()] = ctyToGo(e)
		}
		return out
	}
	return nil
}

// diagError formats HCL diagnostics one per line as file:line:column: summary: detail.
func diagError(diags hcl.Diagnostics) error {
	var lines []string
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		pos := ""
		if d.Subject != nil {
			pos = fmt.Sprintf("%s:%d:%d: ", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column)
		}
		msg := pos + d.Summary
		if d.Detail != "" {
			msg += ": " + d.Detail
		}
		lines = append(lines, msg)
	}
	return fmt.Errorf("%s", strings.Join(lines, "\n"))
}
