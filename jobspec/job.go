package jobspec

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/roam-sh/roam/structs"
)

// jobPolicies are the job-level update, migrate and reschedule blocks. They
// are defaults for every group, merged field by field under the group's own
// blocks, so they are kept as blocks and decoded once per group.
type jobPolicies struct {
	update, migrate, reschedule *hcl.Block
}

// job decodes the job block. Attributes are read before blocks, so the job
// type is known when group policies pick their defaults.
func (d *decoder) job(b *hcl.Block, body hcl.Body) *structs.Job {
	job := &structs.Job{ID: b.Labels[0]}
	d.jobType = structs.JobTypeService
	var pol jobPolicies
	var members []*hcl.Block // groups and top-level tasks, in source order
	d.decode(body,
		attr("type", d.jobTypeAttr(&job.Type)),
		attr("name", d.str(&job.Name)),
		attr("namespace", d.str(&job.Namespace)),
		attr("region", d.str(&job.Region)),
		attr("node_pool", d.str(&job.NodePool)),
		attr("priority", num(d, &job.Priority)),
		attr("all_at_once", d.boolean(&job.AllAtOnce)),
		attr("datacenters", d.strs(&job.Datacenters)),
		attr("consul_token", d.discard),
		attr("vault_token", d.discard),
		attr("consul_namespace", d.discard),
		attr("vault_namespace", d.discard),
		d.stringMap("meta", &job.Meta),
		repeated("constraint", d.constraint(&job.Constraints)),
		repeated("affinity", d.affinity(&job.Affinities)),
		repeated("spread", d.spread(&job.Spreads)),
		single("update", keep(&pol.update)),
		single("migrate", keep(&pol.migrate)),
		single("reschedule", keep(&pol.reschedule)),
		single("periodic", d.periodic(&job.Periodic)),
		single("parameterized", d.parameterized(&job.ParameterizedJob)),
		repeated("group", collect(&members), "name"),
		repeated("task", collect(&members), "name"),
		d.ignored("vault"),
		d.ignored("consul"),
		d.ignored("ui"),
		d.ignored("multiregion"),
	)
	if job.Name == "" {
		job.Name = job.ID
	}
	if pol.update != nil {
		job.Update = structs.DefaultUpdateStrategy()
		d.update(pol.update, &job.Update)
	}
	for _, m := range members {
		if m.Type == "group" {
			job.TaskGroups = append(job.TaskGroups, d.group(m, &pol))
			continue
		}
		job.TaskGroups = append(job.TaskGroups, d.soloTaskGroup(m, &pol))
	}
	return job
}

// soloTaskGroup is the sugar of a task written directly in the job: it runs
// as a group of its own, named after the task.
func (d *decoder) soloTaskGroup(b *hcl.Block, pol *jobPolicies) *structs.TaskGroup {
	tg := &structs.TaskGroup{Name: b.Labels[0], Count: 1}
	d.groupPolicies(tg, pol, groupBlocks{})
	tg.Tasks = []*structs.Task{d.task(b, tg.RestartPolicy, nil)}
	return tg
}

func (d *decoder) jobTypeAttr(p *structs.JobType) func(*hcl.Attribute) {
	return func(a *hcl.Attribute) {
		s, ok := convertTo[string](d, a, cty.String)
		if !ok {
			return
		}
		allowed := []string{}
		for _, t := range structs.JobTypes() {
			allowed = append(allowed, string(t))
		}
		if d.checkEnum(a, s, allowed) {
			*p = structs.JobType(s)
			d.jobType = *p
		}
	}
}

// discard evaluates an accepted-but-unused attribute, so that its errors
// are still reported.
func (d *decoder) discard(a *hcl.Attribute) { d.eval(a) }

// keep stores a block for later decoding.
func keep(p **hcl.Block) func(*hcl.Block) { return func(b *hcl.Block) { *p = b } }

// collect appends blocks for later decoding.
func collect(p *[]*hcl.Block) func(*hcl.Block) {
	return func(b *hcl.Block) { *p = append(*p, b) }
}
