package docker

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
)

// containerModePrefix starts a network_mode that joins another container's
// network namespace.
const containerModePrefix = "container:"

// DefaultNetworkModes are the network_mode values a job may set when the
// plugin config lists none: Docker's built-in networks. "host" is among
// them because a docker task can only set network_mode in a group that is
// in the host's namespace already (a group network refuses it), where the
// group's exec and raw_exec tasks run too; an operator who wants docker
// tasks off the host's namespace lists the others only. User-defined
// Docker networks and other containers' namespaces are never in it: they
// are shared with whatever else Docker runs, other allocations included.
func DefaultNetworkModes() []string {
	return []string{"bridge", "default", "host", "none"}
}

// AllowedModes is the plugin's allowed_modes block: which namespace modes a
// job may ask for. Nomad's block of the same name lists pid, ipc, uts and
// userns modes, which roam's docker tasks cannot set; network is roam's.
type AllowedModes struct {
	// Network lists the network_mode values (path.Match patterns, e.g.
	// "team-*") a job may set; nil means DefaultNetworkModes.
	Network []string `config:"network"`
}

// checkPatterns refuses patterns path.Match cannot use.
func (a AllowedModes) checkPatterns() error {
	var errs []error
	for i, p := range a.Network {
		if _, err := path.Match(p, ""); err != nil || p == "" {
			errs = append(errs, fmt.Errorf("allowed_modes.network[%d]: %q is not a network name or pattern", i, p))
		}
	}
	return errors.Join(errs...)
}

// networkAllowed reports whether the operator's list names mode.
func (pc *PluginConfig) networkAllowed(mode string) bool {
	for _, p := range pc.networkModes() {
		if ok, _ := path.Match(p, mode); ok {
			return true
		}
	}
	return false
}

func (pc *PluginConfig) networkModes() []string {
	if pc.AllowedModes.Network == nil {
		return DefaultNetworkModes()
	}
	return pc.AllowedModes.Network
}

// validateNetworkMode checks a job's own network_mode against the plugin's
// list. container:<x> not on the list is left to joinableContainer, which
// needs the daemon: the task may still join a container of its own
// allocation.
func (tc *TaskConfig) validateNetworkMode(pc *PluginConfig) error {
	mode := tc.NetworkMode
	if mode == "" || pc.networkAllowed(mode) {
		return nil
	}
	if target, ok := strings.CutPrefix(mode, containerModePrefix); ok {
		if target == "" {
			return errors.New(`network_mode: "container:" names no container`)
		}
		return nil
	}
	return fmt.Errorf("network_mode: %q is not allowed on this node: a Docker network is shared with every container on it, other allocations' included (plugin \"docker\" config allowed_modes { network = [%s] })",
		mode, quoteList(pc.networkModes()))
}

// joinableContainer resolves a job's network_mode = "container:<x>": x must
// be a container of the task's own allocation (a sibling task or its pause
// container), unless the operator's list allows it. Joining another
// allocation's container would share its localhost and traffic. The mode
// is rewritten to the container's ID, so that the container checked is the
// one joined even if a name is taken over in between.
func (d *Driver) joinableContainer(ctx context.Context, allocID string, tc *TaskConfig) error {
	target, ok := strings.CutPrefix(tc.NetworkMode, containerModePrefix)
	if !ok || d.cfg.Plugin.networkAllowed(tc.NetworkMode) {
		return nil
	}
	actx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	info, err := d.inspect(actx, target)
	switch {
	case cerrdefs.IsNotFound(err):
		return fmt.Errorf("docker config: network_mode: container %q not found", target)
	case err != nil:
		return fmt.Errorf("docker config: network_mode: inspect container %q: %w", target, err)
	}
	if info.Config == nil || info.Config.Labels[LabelAllocID] != allocID {
		return fmt.Errorf("docker config: network_mode: container %q is not part of this allocation; a task may only join the network namespace of its own allocation's containers (use a group network block to share one; plugin \"docker\" config allowed_modes { network } can allow others)", target)
	}
	tc.NetworkMode = containerModePrefix + info.ID
	return nil
}

func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
