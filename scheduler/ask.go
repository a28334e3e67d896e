package scheduler

import (
	"math"
	"slices"
	"strconv"

	"github.com/roam-sh/roam/structs"
)

// groupAsk is everything placement needs to know about one task group,
// computed once per evaluation so that each candidate node costs only
// lookups and arithmetic.
type groupAsk struct {
	job *structs.Job
	tg  *structs.TaskGroup

	// Resources: cpu shares without cores, whole cores, memory, the memory
	// all tasks may burst to with memory_max, and ephemeral disk.
	cpu, memMB, memMaxMB, diskMB int64
	cores                        int
	tasks                        []taskAsk
	// sharedTasks is the allocated task resources every allocation of the
	// group can share when no cores are reserved.
	sharedTasks      map[string]*structs.AllocatedTaskResources
	sharedLifecycles map[string]*structs.TaskLifecycleConfig

	drivers     []string
	volumes     []*structs.VolumeRequest
	csiVolumes  []*structs.VolumeRequest
	network     *structs.NetworkResource
	mode        structs.NetworkMode
	staticPorts []structs.Port
	dynPorts    []structs.Port

	// constraints are the group's and its tasks' constraints (distinct_*
	// excluded); jobConstraints the job's.
	constraints    []*structs.Constraint
	jobConstraints []*structs.Constraint
	escapes        bool // some group constraint is node specific
	jobEscapes     bool

	distinctHostsJob, distinctHostsGroup bool
	distinctProps                        []distinctProp

	affinities []*structs.Affinity
	spreads    []*structs.Spread
}

type taskAsk struct {
	name                 string
	cpu, memMB, memMaxMB int64
	cores                int
	lifecycle            *structs.TaskLifecycleConfig
}

// distinctProp is a distinct_property constraint: at most limit allocations
// (of the job, or of the group when groupLevel) per value of property.
type distinctProp struct {
	property   string
	limit      int
	groupLevel bool
}

func newGroupAsk(job *structs.Job, tg *structs.TaskGroup) *groupAsk {
	a := &groupAsk{job: job, tg: tg, mode: tg.NetworkMode(), network: tg.Network()}
	a.addTasks(tg)
	a.diskMB = int64(diskOf(tg).SizeMB)
	for _, v := range tg.Volumes {
		switch v.Type {
		case "", "host":
			a.volumes = append(a.volumes, v)
		case "csi":
			a.csiVolumes = append(a.csiVolumes, v)
		}
	}
	if a.network != nil {
		a.staticPorts = a.network.ReservedPorts
		a.dynPorts = a.network.DynamicPorts
	}
	a.addConstraints(job.Constraints, false)
	a.addConstraints(tg.Constraints, true)
	for _, t := range tg.Tasks {
		a.addConstraints(t.Constraints, true)
	}
	a.affinities = slices.Concat(job.Affinities, tg.Affinities)
	for _, t := range tg.Tasks {
		a.affinities = append(a.affinities, t.Affinities...)
	}
	a.spreads = slices.Concat(job.Spreads, tg.Spreads)
	return a
}

func (a *groupAsk) addTasks(tg *structs.TaskGroup) {
	a.sharedTasks = make(map[string]*structs.AllocatedTaskResources, len(tg.Tasks))
	a.sharedLifecycles = map[string]*structs.TaskLifecycleConfig{}
	for _, t := range tg.Tasks {
		r := resourcesOf(t)
		ta := taskAsk{name: t.Name, cpu: int64(r.CPU), memMB: int64(r.MemoryMB), memMaxMB: int64(r.MemoryMaxMB), cores: r.Cores, lifecycle: t.Lifecycle}
		if ta.cores > 0 {
			ta.cpu = 0
		}
		a.tasks = append(a.tasks, ta)
		a.cpu += ta.cpu
		a.cores += ta.cores
		a.memMB += ta.memMB
		a.memMaxMB += max(ta.memMaxMB, ta.memMB)
		a.sharedTasks[t.Name] = &structs.AllocatedTaskResources{
			Cpu:    structs.AllocatedCpuResources{CpuShares: ta.cpu},
			Memory: structs.AllocatedMemoryResources{MemoryMB: ta.memMB, MemoryMaxMB: ta.memMaxMB},
		}
		if t.Lifecycle != nil {
			a.sharedLifecycles[t.Name] = t.Lifecycle
		}
		if !slices.Contains(a.drivers, t.Driver) && t.Driver != "" {
			a.drivers = append(a.drivers, t.Driver)
		}
	}
}

func (a *groupAsk) addConstraints(cs []*structs.Constraint, group bool) {
	for _, c := range cs {
		switch c.Operand {
		case structs.ConstraintDistinctHosts:
			if distinctHostsEnabled(c) {
				a.distinctHostsJob = a.distinctHostsJob || !group
				a.distinctHostsGroup = a.distinctHostsGroup || group
			}
			continue
		case structs.ConstraintDistinctProperty:
			a.distinctProps = append(a.distinctProps, distinctProp{property: c.LTarget, limit: distinctLimit(c), groupLevel: group})
			continue
		}
		if group {
			a.constraints = append(a.constraints, c)
			a.escapes = a.escapes || constraintEscapes(c)
		} else {
			a.jobConstraints = append(a.jobConstraints, c)
			a.jobEscapes = a.jobEscapes || constraintEscapes(c)
		}
	}
}

// distinctHostsEnabled: the value is optional and defaults to true; anything
// unparsable also enforces the constraint.
func distinctHostsEnabled(c *structs.Constraint) bool {
	if c.RTarget == "" {
		return true
	}
	v, err := strconv.ParseBool(c.RTarget)
	return err != nil || v
}

// distinctLimit is a distinct_property's allowed count per value (default 1).
func distinctLimit(c *structs.Constraint) int {
	n, err := strconv.Atoi(c.RTarget)
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// hasPorts reports whether the group asks for host ports.
func (a *groupAsk) hasPorts() bool { return len(a.staticPorts)+len(a.dynPorts) > 0 }

// escapesClass reports whether feasibility for this group depends on more
// than the node's computed class.
func (a *groupAsk) escapesClass() bool {
	return a.escapes || a.jobEscapes || a.distinctHostsJob || a.distinctHostsGroup || len(a.distinctProps) > 0
}

// candidateLimit is how many feasible, fitting nodes one placement scores
// before taking the best. Service jobs look at log2(n) nodes (at least 2):
// enough to find a good fit without scoring the whole cluster per placement.
// Batch jobs use two choices, which keeps large batch runs linear. Affinities
// and spreads only work if every node is scored, so they lift the limit.
func candidateLimit(ask *groupAsk, nodes int, batch bool) int {
	if len(ask.affinities) > 0 || len(ask.spreads) > 0 {
		return max(nodes, 1)
	}
	if batch {
		return 2
	}
	return max(2, int(math.Ceil(math.Log2(float64(max(nodes, 1))))))
}
