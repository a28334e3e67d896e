package agent

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"

	"github.com/spf13/cobra"

	"github.com/roam-sh/roam/client/fingerprint"
	"github.com/roam-sh/roam/netns"
	"github.com/roam-sh/roam/netns/doctor"
	"github.com/roam-sh/roam/structs"
)

// NodeDoctorCommand returns `roam node doctor`: what this host can do for
// group networking and why, checked on the host itself (it is registered
// under `node` by cmd/roam; the cli package only speaks the HTTP API).
func NodeDoctorCommand() *cobra.Command {
	var configs []string
	var dev, asJSON bool
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check what this host can do for group networking",
		Long: `Check, on this host, what roam's client can do for group networking: network
namespaces, bridges and veths (created and deleted in a throwaway namespace),
iptables, Docker's presence, CNI plugins and networks, host networks and the
dynamic port range. Reads the same -config files as the agent.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := DefaultConfig()
			if dev {
				c = DevConfig()
			}
			if err := loadConfigPaths(c, configs); err != nil {
				return err
			}
			checks := doctor.Run(doctorOptions(c))
			if err := doctor.Write(cmd.OutOrStdout(), checks, asJSON); err != nil {
				return err
			}
			if doctor.Failed(checks) {
				return fmt.Errorf("some checks failed")
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&configs, "config", nil, "agent config file or directory (repeatable)")
	cmd.Flags().BoolVar(&dev, "dev", false, "check the -dev preset (loopback as the default host network)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the checks as JSON")
	return cmd
}

func doctorOptions(c *Config) doctor.Options {
	cl := c.Client
	o := doctor.Options{
		BridgeName: cl.BridgeNetworkName, BridgeSubnet: cl.BridgeSubnet, Firewall: cl.BridgeFirewall,
		CNIPath: cl.CNIPath, CNIConfigDir: cl.CNIConfigDir,
		MinDynamicPort: cl.MinDynamicPort, MaxDynamicPort: cl.MaxDynamicPort,
		ChainPrefix: cl.BridgeChainPrefix, OwnersDir: netns.DefaultOwnersDir,
	}
	for _, s := range fingerprint.ListeningSockets() {
		o.ListeningPorts = append(o.ListeningPorts, s.Port)
	}
	hns := map[string]*structs.ClientHostNetworkConfig{}
	for name, hn := range cl.HostNetworks {
		hns[name] = &structs.ClientHostNetworkConfig{Name: name, CIDR: hn.CIDR, Interface: hn.Interface, ReservedPorts: hn.ReservedPorts}
	}
	n := &structs.Node{Attributes: map[string]string{}, NodeResources: &structs.NodeResources{}}
	var fps []fingerprint.Fingerprinter
	for _, fp := range fingerprint.Default() {
		if fp.Name() == "network" {
			fps = append(fps, fp)
		}
	}
	fcfg := &fingerprint.Config{NetworkInterface: cl.NetworkInterface, HostNetworks: hns, MinDynamicPort: cl.MinDynamicPort, MaxDynamicPort: cl.MaxDynamicPort}
	_ = fingerprint.Run(fps, fcfg, n, slog.New(slog.DiscardHandler))
	byAlias := map[string][]string{structs.DefaultHostNetwork: nil}
	for name := range hns {
		byAlias[name] = nil
	}
	for _, nn := range n.NodeResources.NodeNetworks {
		for _, a := range nn.Addresses {
			byAlias[a.Alias] = append(byAlias[a.Alias], a.Address+" ("+nn.Device+")")
		}
	}
	for _, name := range slices.Sorted(maps.Keys(byAlias)) {
		o.HostNetworks = append(o.HostNetworks, doctor.HostNetwork{Name: name, Addresses: byAlias[name]})
	}
	return o
}
