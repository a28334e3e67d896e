package jobspec

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/roam-sh/roam/structs"
)

// groupBlocks are the policy blocks of one group, decoded after the rest of
// the group over the job's defaults.
type groupBlocks struct {
	restart, reschedule, update, migrate, vault *hcl.Block
}

// group decodes a group block.
func (d *decoder) group(b *hcl.Block, pol *jobPolicies) *structs.TaskGroup {
	tg := &structs.TaskGroup{Name: b.Labels[0]}
	d.portRefs = nil // a group's ports are its own
	var count *int
	var gb groupBlocks
	var tasks []*hcl.Block
	d.decode(b.Body,
		attr("count", numPtr(d, &count)),
		attr("shutdown_delay", d.durPtr(&tg.ShutdownDelay)),
		attr("max_client_disconnect", d.durPtr(&tg.MaxClientDisconnect)),
		attr("stop_after_client_disconnect", d.durPtr(&tg.StopAfterClientDisconnect)),
		attr("prevent_reschedule_on_lost", d.boolean(&tg.PreventRescheduleOnLost)),
		d.stringMap("meta", &tg.Meta),
		repeated("constraint", d.constraint(&tg.Constraints)),
		repeated("affinity", d.affinity(&tg.Affinities)),
		repeated("spread", d.spread(&tg.Spreads)),
		repeated("network", d.network(&tg.Networks)),
		repeated("service", d.service(&tg.Services)),
		repeated("volume", d.volume(&tg.Volumes), "name"),
		single("restart", keep(&gb.restart)),
		single("reschedule", keep(&gb.reschedule)),
		single("update", keep(&gb.update)),
		single("migrate", keep(&gb.migrate)),
		single("vault", keep(&gb.vault)),
		single("ephemeral_disk", d.ephemeralDisk(&tg.EphemeralDisk)),
		single("consul", d.consul(&tg.Consul)),
		single("disconnect", d.disconnect(&tg.Disconnect)),
		single("scaling", d.scaling(&tg.Scaling)),
		repeated("task", collect(&tasks), "name"),
	)
	tg.Count = 1
	switch {
	case count != nil:
		tg.Count = *count
	case tg.Scaling != nil && tg.Scaling.Min >= 0:
		tg.Count = int(tg.Scaling.Min)
	}
	if tg.Scaling != nil && tg.Scaling.Min < 0 {
		tg.Scaling.Min = int64(tg.Count)
	}
	d.groupPolicies(tg, pol, gb)
	var vault *structs.Vault
	if gb.vault != nil {
		d.vault(&vault)(gb.vault)
	}
	for _, t := range tasks {
		tg.Tasks = append(tg.Tasks, d.task(t, tg.RestartPolicy, vault))
	}
	d.checkPortRefs(tg)
	return tg
}

// groupPolicies fills the group's restart, reschedule, update and migrate
// policies from its blocks over the job's blocks over the job type's
// defaults. A policy nobody wrote stays nil for Canonicalize to fill.
func (d *decoder) groupPolicies(tg *structs.TaskGroup, pol *jobPolicies, gb groupBlocks) {
	if gb.restart != nil {
		tg.RestartPolicy = structs.DefaultRestartPolicy(d.jobType)
		d.restart(gb.restart, tg.RestartPolicy)
	}
	if pol.reschedule != nil || gb.reschedule != nil {
		rp := structs.DefaultReschedulePolicy(d.jobType)
		if rp == nil {
			rp = &structs.ReschedulePolicy{}
		}
		d.reschedule(pol.reschedule, rp)
		d.reschedule(gb.reschedule, rp)
		tg.ReschedulePolicy = rp
	}
	if pol.migrate != nil || gb.migrate != nil {
		m := structs.DefaultMigrateStrategy()
		d.migrate(pol.migrate, m)
		d.migrate(gb.migrate, m)
		tg.Migrate = m
	}
	if gb.update != nil {
		u := structs.DefaultUpdateStrategy()
		d.update(pol.update, &u)
		d.update(gb.update, &u)
		tg.Update = &u
	}
}

// volume decodes volume "name" { type, source, ... }.
func (d *decoder) volume(m *map[string]*structs.VolumeRequest) func(*hcl.Block) {
	return func(b *hcl.Block) {
		v := &structs.VolumeRequest{Name: b.Labels[0]}
		d.decode(b.Body,
			attr("type", d.enum(&v.Type, structs.VolumeTypes()...)),
			attr("source", d.str(&v.Source)),
			attr("read_only", d.boolean(&v.ReadOnly)),
			attr("sticky", d.boolean(&v.Sticky)),
			attr("per_alloc", d.boolean(&v.PerAlloc)),
			attr("access_mode", d.str(&v.AccessMode)),
			attr("attachment_mode", d.str(&v.AttachmentMode)),
			single("mount_options", func(mb *hcl.Block) {
				v.MountOptions = &structs.CSIMountOptions{}
				d.decode(mb.Body,
					attr("fs_type", d.str(&v.MountOptions.FSType)),
					attr("mount_flags", d.strs(&v.MountOptions.MountFlags)),
				)
			}),
		)
		if *m == nil {
			*m = map[string]*structs.VolumeRequest{}
		}
		if _, dup := (*m)[v.Name]; dup {
			d.errorf(b.DefRange, "Duplicate volume block", "volume %q is already defined in this group", v.Name)
			return
		}
		(*m)[v.Name] = v
	}
}

// ephemeralDisk decodes ephemeral_disk { size, sticky, migrate }.
func (d *decoder) ephemeralDisk(p **structs.EphemeralDisk) func(*hcl.Block) {
	return func(b *hcl.Block) {
		e := structs.DefaultEphemeralDisk()
		d.decode(b.Body,
			attr("size", num(d, &e.SizeMB)),
			attr("sticky", d.boolean(&e.Sticky)),
			attr("migrate", d.boolean(&e.Migrate)),
		)
		*p = e
	}
}

// consul decodes consul { namespace, cluster, partition }.
func (d *decoder) consul(p **structs.Consul) func(*hcl.Block) {
	return func(b *hcl.Block) {
		c := &structs.Consul{}
		d.decode(b.Body,
			attr("namespace", d.str(&c.Namespace)),
			attr("cluster", d.str(&c.Cluster)),
			attr("partition", d.str(&c.Partition)),
		)
		*p = c
	}
}

// disconnect decodes disconnect { lost_after, stop_on_client_after, replace,
// reconcile }; replace defaults to true.
func (d *decoder) disconnect(p **structs.DisconnectStrategy) func(*hcl.Block) {
	return func(b *hcl.Block) {
		ds := &structs.DisconnectStrategy{}
		d.decode(b.Body,
			attr("lost_after", d.dur(&ds.LostAfter)),
			attr("stop_on_client_after", d.durPtr(&ds.StopOnClientAfter)),
			attr("replace", d.boolPtr(&ds.Replace)),
			attr("reconcile", d.enum(&ds.Reconcile, structs.DisconnectReconcileModes()...)),
		)
		if ds.Replace == nil {
			replace := true
			ds.Replace = &replace
		}
		*p = ds
	}
}

// scaling decodes scaling { min, max, enabled, type, policy {} }. An unset
// min is marked -1 for the group to replace with its count.
func (d *decoder) scaling(p **structs.ScalingPolicy) func(*hcl.Block) {
	return func(b *hcl.Block) {
		s := &structs.ScalingPolicy{Min: -1, Enabled: true, Type: "horizontal"}
		d.decode(b.Body,
			attr("min", num(d, &s.Min)),
			attr("max", num(d, &s.Max)),
			attr("enabled", d.boolean(&s.Enabled)),
			attr("type", d.str(&s.Type)),
			d.freeForm("policy", &s.Policy),
		)
		*p = s
	}
}
