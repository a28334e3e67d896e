// Package docker is the docker task driver: it runs tasks as containers of
// a local Docker Engine, through the maintained Go client modules
// github.com/moby/moby/client and github.com/moby/moby/api (the
// github.com/docker/docker module they replace is deprecated), with the API
// version negotiated with the daemon on the first call (API 1.40 and later,
// Docker Engine 19.03 and later).
//
// One task is one container, named <task>-<alloc ID> and labelled with the
// allocation, task, group, job and namespace (com.roam.* and Nomad's
// com.hashicorp.nomad.* keys). Its image is taken from the local store,
// loaded from a `load` tarball or pulled; its limits are cgroup limits set
// by Docker (cpu shares, cpuset from reserved cores, memory and
// memory_max); the allocation's alloc/, local/ and secrets/ are bind-mounted
// at /alloc, /local and /secrets. Its output goes to Docker's json-file log,
// from which a log collector process (collector/, `roam docker-logger`)
// copies it into the task's rotated log files. Exit codes and OOM kills come
// from Docker's wait and inspect.
//
// Networks: in a group with its own namespace (bridge, cni/*, none) the
// driver creates the namespace itself (drivers.NetworkCreator): a pause
// container, roam-init-<alloc ID>, from an image roam builds without a
// registry (pause.go), and every docker task joins it with network_mode
// container:<pause>. In host mode a task either shares the host's namespace
// or sits on Docker's bridge with its `ports` published (see
// HostNetworkMode).
//
// Tasks outlive the client: RecoverTask re-attaches to the container and its
// collector. They also outlive a Docker daemon restart: see task.
//
// Map of the package:
//
//	driver.go      Driver, Config, the Driver interface's small methods
//	plugin.go      PluginConfig: the client's plugin "docker" block
//	config.go      TaskConfig: a task's config block, decoding and checks
//	container.go   TaskConfig → container config (pure): network mode,
//	               resources, labels, logs
//	mounts.go      binds, mounts and published ports (pure)
//	start.go       StartTask, RecoverTask, the task handle's state
//	task.go        one container: waiting, daemon restarts, stop, remove
//	image.go       local image, load, pull (with registry credentials)
//	etcfiles.go    a group task's own resolv.conf and hosts (dns, extra_hosts)
//	archive.go     one-layer images in `docker save` form
//	pause.go       the pause program and image
//	network.go     CreateNetwork, DestroyNetwork: the pause container
//	fingerprint.go the daemon's version and runtimes
//	stats.go       TaskStats from Docker's stats
//	exec.go        ExecTask, ExecTaskStreaming
//
// collector/ is the log collector process.
package docker
