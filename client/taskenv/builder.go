package taskenv

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/internal/cpuset"
	"github.com/roam-sh/roam/structs"
)

// Paths a task sees for its directories under image or chroot isolation.
const (
	isolatedAllocDir   = "/alloc"
	isolatedTaskDir    = "/local"
	isolatedSecretsDir = "/secrets"
)

// Dirs are the three directories exposed as NOMAD_ALLOC_DIR, NOMAD_TASK_DIR
// and NOMAD_SECRETS_DIR.
type Dirs struct {
	SharedAllocDir string
	LocalDir       string
	SecretsDir     string
}

// Builder collects what a task's environment is made of. Setters may be
// called from several hooks; Build may be called again after any change.
type Builder struct {
	mu        sync.Mutex
	node      *structs.Node
	region    string
	alloc     *structs.Allocation
	task      *structs.Task
	fs        drivers.FSIsolation
	hostDirs  Dirs
	hostEnv   map[string]string
	denylist  envDenylist
	netStatus *structs.AllocNetworkStatus
	hookOrder []string
	hookEnvs  map[string]map[string]string
}

// NewBuilder starts a builder for task of alloc on node; region is the
// client's region. With task nil it builds the allocation's environment
// (what alloc hooks interpolate service names with): no task variables.
func NewBuilder(node *structs.Node, alloc *structs.Allocation, task *structs.Task, region string) *Builder {
	return &Builder{
		node: node, region: region, alloc: alloc, task: task, fs: drivers.FSIsolationNone,
		denylist: newEnvDenylist(DefaultEnvDenylist()), hookEnvs: map[string]map[string]string{},
	}
}

// SetFSIsolation sets the driver's filesystem isolation, which decides the
// directory paths the task sees and whether it inherits the host env.
func (b *Builder) SetFSIsolation(fs drivers.FSIsolation) *Builder {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.fs = fs
	return b
}

// SetHostDirs sets the host paths of the task's directories.
func (b *Builder) SetHostDirs(d Dirs) *Builder {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.hostDirs = d
	return b
}

// SetHostEnv sets the client's own environment and the deny list applied to
// it (nil keeps DefaultEnvDenylist; a list replaces it, as Nomad's
// env.denylist does; entries ending in '*' are prefixes).
func (b *Builder) SetHostEnv(env map[string]string, denylist []string) *Builder {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.hostEnv = maps.Clone(env)
	if denylist != nil {
		b.denylist = newEnvDenylist(denylist)
	}
	return b
}

// SetNetworkStatus records the allocation's network namespace addresses.
func (b *Builder) SetNetworkStatus(ns *structs.AllocNetworkStatus) *Builder {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.netStatus = ns
	return b
}

// UpdateAlloc replaces the allocation (after an in-place update).
func (b *Builder) UpdateAlloc(alloc *structs.Allocation, task *structs.Task) *Builder {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.alloc, b.task = alloc, task
	return b
}

// SetHookEnv sets the variables a hook contributes. Hooks apply in the order
// they first set an env; setting nil removes the hook's variables.
func (b *Builder) SetHookEnv(hook string, env map[string]string) *Builder {
	b.mu.Lock()
	defer b.mu.Unlock()
	if env == nil {
		delete(b.hookEnvs, hook)
		b.hookOrder = slices.DeleteFunc(b.hookOrder, func(h string) bool { return h == hook })
		return b
	}
	if _, ok := b.hookEnvs[hook]; !ok {
		b.hookOrder = append(b.hookOrder, hook)
	}
	b.hookEnvs[hook] = maps.Clone(env)
	return b
}

// Build produces the task environment.
func (b *Builder) Build() *TaskEnv {
	b.mu.Lock()
	defer b.mu.Unlock()
	attrs := NodeAttrs(b.node, b.region)
	taskDirs := b.hostDirs
	if b.fs == drivers.FSIsolationImage || b.fs == drivers.FSIsolationChroot {
		taskDirs = Dirs{SharedAllocDir: isolatedAllocDir, LocalDir: isolatedTaskDir, SecretsDir: isolatedSecretsDir}
	}
	return &TaskEnv{
		env:       b.build(taskDirs, attrs),
		clientEnv: b.build(b.hostDirs, attrs),
		nodeAttrs: attrs,
	}
}

// build runs the steps listed in the package doc, in that order.
func (b *Builder) build(dirs Dirs, attrs map[string]string) map[string]string {
	env := map[string]string{}
	b.dirVars(env, dirs)
	b.resourceVars(env)
	b.identityVars(env)
	if tr := b.taskResources(); tr != nil {
		taskNetworkVars(env, tr.Networks)
	}
	b.otherPortVars(env)
	b.upstreamVars(env)
	b.allocNetVars(env)
	b.metaVars(env, attrs)
	b.hostEnvVars(env)
	b.taskEnvVars(env, attrs)
	for _, h := range b.hookOrder {
		maps.Copy(env, b.hookEnvs[h])
	}
	return cleanKeys(env)
}

func (b *Builder) dirVars(env map[string]string, d Dirs) {
	env["NOMAD_ALLOC_DIR"] = d.SharedAllocDir
	env["NOMAD_TASK_DIR"] = d.LocalDir
	env["NOMAD_SECRETS_DIR"] = d.SecretsDir
}

func (b *Builder) taskResources() *structs.AllocatedTaskResources {
	if b.task == nil || b.alloc == nil || b.alloc.AllocatedResources == nil {
		return nil
	}
	return b.alloc.AllocatedResources.Tasks[b.task.Name]
}

// resourceVars prefers what was allocated over what the task asked for, and
// omits zero values.
func (b *Builder) resourceVars(env map[string]string) {
	var cpu, mem, memMax int64
	var cores []uint16
	if tr := b.taskResources(); tr != nil {
		cpu, cores = tr.Cpu.CpuShares, tr.Cpu.ReservedCores
		mem, memMax = tr.Memory.MemoryMB, tr.Memory.MemoryMaxMB
	} else if b.task != nil && b.task.Resources != nil {
		r := b.task.Resources
		cpu, mem, memMax = int64(r.CPU), int64(r.MemoryMB), int64(r.MemoryMaxMB)
	}
	setNonZero(env, "NOMAD_CPU_LIMIT", cpu)
	setNonZero(env, "NOMAD_MEMORY_LIMIT", mem)
	setNonZero(env, "NOMAD_MEMORY_MAX_LIMIT", memMax)
	if len(cores) > 0 {
		env["NOMAD_CPU_CORES"] = cpuset.Format(cores)
	}
}

func setNonZero(env map[string]string, k string, v int64) {
	if v != 0 {
		env[k] = strconv.FormatInt(v, 10)
	}
}

func (b *Builder) identityVars(env map[string]string) {
	if b.task != nil {
		env["NOMAD_TASK_NAME"] = b.task.Name
	}
	env["NOMAD_REGION"] = b.region
	if b.node != nil {
		env["NOMAD_DC"] = b.node.Datacenter
		if b.node.CgroupParent != "" {
			env["NOMAD_PARENT_CGROUP"] = b.node.CgroupParent
		}
	}
	a := b.alloc
	if a == nil {
		return
	}
	env["NOMAD_ALLOC_ID"] = a.ID
	env["NOMAD_SHORT_ALLOC_ID"] = structs.ShortID(a.ID)
	env["NOMAD_ALLOC_NAME"] = a.Name
	env["NOMAD_ALLOC_INDEX"] = strconv.FormatUint(uint64(a.Index()), 10)
	env["NOMAD_GROUP_NAME"] = a.TaskGroup
	env["NOMAD_NAMESPACE"] = a.Namespace
	env["NOMAD_JOB_ID"] = a.JobID
	if j := a.Job; j != nil {
		env["NOMAD_JOB_ID"] = j.ID
		env["NOMAD_JOB_NAME"] = j.Name
		if j.ParentID != "" {
			env["NOMAD_JOB_PARENT_ID"] = j.ParentID
		}
	}
}

// metaVars sets NOMAD_META_<key> and NOMAD_META_<KEY> from job, group and task
// meta (most specific wins), values interpolated with node attributes.
func (b *Builder) metaVars(env, attrs map[string]string) {
	meta := map[string]string{}
	if a := b.alloc; a != nil && a.Job != nil {
		if pj := a.Job.ParameterizedJob; pj != nil && a.Job.Dispatched {
			for _, k := range pj.MetaOptional {
				meta[k] = ""
			}
		}
		maps.Copy(meta, a.Job.Meta)
		if tg := a.LookupTaskGroup(); tg != nil {
			maps.Copy(meta, tg.Meta)
		}
	}
	if b.task != nil {
		maps.Copy(meta, b.task.Meta)
	}
	for k, v := range meta {
		v = interpolate(v, nil, attrs)
		env["NOMAD_META_"+k] = v
		env["NOMAD_META_"+strings.ToUpper(k)] = v
	}
}

// hostEnvVars passes the client's environment to non-image tasks, never
// overriding what roam already set and never passing denied variables.
func (b *Builder) hostEnvVars(env map[string]string) {
	if b.fs == drivers.FSIsolationImage {
		return
	}
	for k, v := range b.hostEnv {
		if _, set := env[k]; set || b.denylist.denies(k) {
			continue
		}
		env[k] = v
	}
}

// taskEnvVars applies the task's env block, interpolated against the
// environment built so far.
func (b *Builder) taskEnvVars(env, attrs map[string]string) {
	if b.task == nil {
		return
	}
	sofar := maps.Clone(env)
	for k, v := range b.task.Env {
		env[k] = interpolate(v, sofar, attrs)
	}
}

func cleanKeys(env map[string]string) map[string]string {
	out := make(map[string]string, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out[cleanKey(k)] = env[k]
	}
	return out
}

// NodeAttrs returns the node values available to ${...} interpolation.
func NodeAttrs(node *structs.Node, region string) map[string]string {
	m := map[string]string{"node.region": region}
	if node == nil {
		return m
	}
	m["node.unique.id"] = node.ID
	m["node.unique.name"] = node.Name
	m["node.datacenter"] = node.Datacenter
	m["node.class"] = node.NodeClass
	m["node.pool"] = node.NodePool
	for k, v := range node.Attributes {
		m["attr."+k] = v
	}
	for k, v := range node.Meta {
		m["meta."+k] = v
	}
	return m
}
