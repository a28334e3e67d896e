package sidecar

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/roam-sh/roam/mesh/proxy"
)

// File is one sidecar's configuration, written by the client into the
// task's private directory before the proxy starts (it holds the task's
// token, so it is readable by root only).
type File struct {
	// Service is the service the proxy fronts.
	Service   string `json:"service"`
	Namespace string `json:"namespace"`
	// PublicPort is the port of the mTLS listener inside the namespace
	// (the connect-proxy-<service> port, the same number on the host).
	PublicPort int `json:"public_port"`
	// LocalAddr is host:port of the application inside the namespace.
	LocalAddr string `json:"local_addr"`
	// Protocol is the service's (proxy config "protocol"): with http the
	// inbound requests are counted and timed.
	Protocol  proxy.Protocol     `json:"protocol,omitempty"`
	Upstreams []proxy.Upstream   `json:"upstreams"`
	Expose    []proxy.ExposePath `json:"expose"`
	// AgentAddr is the local agent's HTTP address (host:port); Token the
	// task's workload identity, sent with every request to it.
	AgentAddr string `json:"agent_addr"`
	Token     string `json:"token"`
}

// Write stores f at path, readable by its owner only.
func (f *File) Write(path string) error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write proxy config: %w", err)
	}
	return os.Rename(tmp, path)
}

// ReadFile loads and checks the file at path.
func ReadFile(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read proxy config: %w", err)
	}
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("proxy config %s: %w", path, err)
	}
	if f.Service == "" || f.PublicPort <= 0 || f.LocalAddr == "" || f.AgentAddr == "" {
		return nil, fmt.Errorf("proxy config %s: service, public_port, local_addr and agent_addr are required", path)
	}
	return &f, nil
}

// maxStatsFile bounds what ReadStats reads.
const maxStatsFile = 1 << 20

// WriteStats stores a reading of the proxy's counters at path.
func WriteStats(path string, st proxy.Stats) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// ReadStats reads what WriteStats stored.
func ReadStats(path string) (proxy.Stats, error) {
	var st proxy.Stats
	f, err := os.Open(path)
	if err != nil {
		return st, err
	}
	defer f.Close()
	err = json.NewDecoder(io.LimitReader(f, maxStatsFile)).Decode(&st)
	return st, err
}

// defaultUpstreamNamespace makes an upstream without destination_namespace
// name the sidecar's own namespace, as Consul does: otherwise its
// instances would be looked up in the default namespace and a peer of any
// namespace serving that name would be accepted.
func (f *File) defaultUpstreamNamespace() {
	if f.Namespace == "" {
		return
	}
	for i := range f.Upstreams {
		if f.Upstreams[i].DestinationNamespace == "" {
			f.Upstreams[i].DestinationNamespace = f.Namespace
		}
	}
}
