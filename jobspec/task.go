package jobspec

import (
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/roam-sh/roam/structs"
)

// task decodes a task block. groupRestart is the group's restart policy (nil
// when the group has none): a task restart block is merged over it. A vault
// block on the group applies to tasks without their own.
func (d *decoder) task(b *hcl.Block, groupRestart *structs.RestartPolicy, groupVault *structs.Vault) *structs.Task {
	t := &structs.Task{Name: b.Labels[0]}
	if msg := structs.TaskNameProblem(t.Name); msg != "" {
		// The name becomes a directory on the client: say where it is.
		d.errorf(b.LabelRanges[0], "Invalid task name", "%s", msg)
	}
	var restart *hcl.Block
	d.decode(b.Body,
		attr("driver", d.str(&t.Driver)),
		attr("user", d.str(&t.User)),
		attr("kill_timeout", d.dur(&t.KillTimeout)),
		attr("kill_signal", d.str(&t.KillSignal)),
		attr("shutdown_delay", d.dur(&t.ShutdownDelay)),
		attr("leader", d.boolean(&t.Leader)),
		attr("kind", set(d, &t.Kind, cty.String)),
		d.freeForm("config", &t.Config),
		d.stringMap("env", &t.Env),
		d.stringMap("meta", &t.Meta),
		single("resources", d.resources(&t.Resources)),
		single("restart", keep(&restart)),
		single("lifecycle", d.lifecycle(&t.Lifecycle)),
		single("logs", d.logs(&t.LogConfig)),
		single("vault", d.vault(&t.Vault)),
		single("dispatch_payload", d.dispatchPayload(&t.DispatchPayload)),
		single("csi_plugin", d.csiPlugin(&t.CSIPluginConfig)),
		repeated("artifact", d.artifact(&t.Artifacts)),
		repeated("template", d.template(&t.Templates)),
		repeated("volume_mount", d.volumeMount(&t.VolumeMounts)),
		repeated("service", d.service(&t.Services)),
		repeated("constraint", d.constraint(&t.Constraints)),
		repeated("affinity", d.affinity(&t.Affinities)),
		repeated("identity", d.identity(t)),
		d.ignored("consul"),
	)
	if restart != nil {
		rp := structs.DefaultRestartPolicy(d.jobType)
		if groupRestart != nil {
			*rp = *groupRestart
		}
		d.restart(restart, rp)
		t.RestartPolicy = rp
	}
	if t.Vault == nil && groupVault != nil {
		v := *groupVault
		t.Vault = &v
	}
	return t
}

// resources decodes resources { cpu, cores, memory, memory_max, disk,
// device "name" {}, network {} (legacy) }.
func (d *decoder) resources(p **structs.Resources) func(*hcl.Block) {
	return func(b *hcl.Block) {
		r := &structs.Resources{}
		d.decode(b.Body,
			attr("cpu", num(d, &r.CPU)),
			attr("cores", num(d, &r.Cores)),
			attr("memory", num(d, &r.MemoryMB)),
			attr("memory_max", num(d, &r.MemoryMaxMB)),
			attr("disk", num(d, &r.DiskMB)),
			attr("iops", num(d, &r.IOPS)),
			attr("secrets", d.discard),
			repeated("device", d.device(&r.Devices), "name"),
			repeated("network", d.network(&r.Networks)),
			d.ignored("numa"),
		)
		*p = r
	}
}

func (d *decoder) device(list *[]*structs.RequestedDevice) func(*hcl.Block) {
	return func(b *hcl.Block) {
		dev := &structs.RequestedDevice{Name: b.Labels[0], Count: 1}
		d.decode(b.Body,
			attr("count", num(d, &dev.Count)),
			repeated("constraint", d.constraint(&dev.Constraints)),
			repeated("affinity", d.affinity(&dev.Affinities)),
		)
		*list = append(*list, dev)
	}
}

// lifecycle decodes lifecycle { hook, sidecar }; hook is required.
func (d *decoder) lifecycle(p **structs.TaskLifecycleConfig) func(*hcl.Block) {
	return func(b *hcl.Block) {
		l := &structs.TaskLifecycleConfig{}
		hooks := []string{"prestart", "poststart", "poststop"}
		seen := false
		d.decode(b.Body,
			attr("hook", func(a *hcl.Attribute) {
				seen = true
				var s string
				if d.enum(&s, hooks...)(a); s != "" {
					l.Hook = structs.LifecycleHook(s)
				}
			}),
			attr("sidecar", d.boolean(&l.Sidecar)),
		)
		if !seen {
			d.errorf(b.DefRange, "Missing required argument", "the lifecycle block needs a hook: %s",
				strings.Join(hooks, ", "))
		}
		*p = l
	}
}

// logs decodes logs { max_files, max_file_size, disabled } over the defaults.
func (d *decoder) logs(p **structs.LogConfig) func(*hcl.Block) {
	return func(b *hcl.Block) {
		l := structs.DefaultLogConfig()
		enabled := true
		d.decode(b.Body,
			attr("max_files", num(d, &l.MaxFiles)),
			attr("max_file_size", num(d, &l.MaxFileSizeMB)),
			attr("disabled", d.boolean(&l.Disabled)),
			attr("enabled", d.boolean(&enabled)),
		)
		if !enabled {
			l.Disabled = true
		}
		*p = l
	}
}

func (d *decoder) artifact(list *[]*structs.TaskArtifact) func(*hcl.Block) {
	return func(b *hcl.Block) {
		a := &structs.TaskArtifact{}
		d.decode(b.Body,
			attr("source", d.str(&a.GetterSource)),
			attr("destination", d.str(&a.RelativeDest)),
			attr("mode", d.enum(&a.GetterMode, structs.ArtifactModes()...)),
			attr("chown", d.boolean(&a.Chown)),
			attr("insecure", d.discard),
			d.stringMap("options", &a.GetterOptions),
			d.stringMap("headers", &a.GetterHeaders),
		)
		*list = append(*list, a)
	}
}

// template decodes a template block and applies the parser defaults:
// change_mode restart, perms 0644, splay 5s, and SIGHUP for change_mode
// signal without a change_signal.
func (d *decoder) template(list *[]*structs.Template) func(*hcl.Block) {
	return func(b *hcl.Block) {
		t := &structs.Template{ChangeMode: structs.ChangeModeRestart, Perms: "0644", Splay: 5 * time.Second}
		var data *hcl.Attribute
		d.decode(b.Body,
			attr("source", d.str(&t.SourcePath)),
			attr("destination", d.str(&t.DestPath)),
			attr("data", func(a *hcl.Attribute) { data = a; d.str(&t.EmbeddedTmpl)(a) }),
			attr("change_mode", typedEnum(d, &t.ChangeMode, structs.ParseTemplateChangeMode)),
			attr("change_signal", d.str(&t.ChangeSignal)),
			attr("splay", d.dur(&t.Splay)),
			attr("perms", d.str(&t.Perms)),
			attr("uid", numPtr(d, &t.Uid)),
			attr("gid", numPtr(d, &t.Gid)),
			attr("left_delimiter", d.str(&t.LeftDelim)),
			attr("right_delimiter", d.str(&t.RightDelim)),
			attr("env", d.boolean(&t.Envvars)),
			attr("vault_grace", d.dur(&t.VaultGrace)),
			attr("error_on_missing_key", d.boolean(&t.ErrMissingKey)),
			attr("once", d.boolean(&t.Once)),
			single("change_script", d.changeScript(&t.ChangeScript)),
			single("wait", func(wb *hcl.Block) {
				t.Wait = &structs.WaitConfig{}
				d.decode(wb.Body, attr("min", d.durPtr(&t.Wait.Min)), attr("max", d.durPtr(&t.Wait.Max)))
			}),
		)
		t.ChangeSignal = strings.ToUpper(t.ChangeSignal)
		if t.ChangeMode == structs.ChangeModeSignal && t.ChangeSignal == "" {
			t.ChangeSignal = "SIGHUP"
		}
		if data != nil && t.EmbeddedTmpl != "" {
			d.checkTemplate(data.Expr.Range(), t)
		}
		*list = append(*list, t)
	}
}

// checkTemplate reports the problems of a template's data (syntax errors,
// functions roam refuses) at their line in the job file: the data's own
// line for a quoted string, the line below the opening marker plus the
// template's line for a heredoc.
func (d *decoder) checkTemplate(rng hcl.Range, t *structs.Template) {
	for _, p := range structs.CheckTemplateText(t.EmbeddedTmpl, t.LeftDelim, t.RightDelim) {
		pos := rng
		if rng.End.Line > rng.Start.Line {
			pos.Start.Line += p.Line
			pos.Start.Column = max(p.Column, 1)
		} else if p.Column > 0 {
			pos.Start.Column += p.Column
		}
		pos.End = pos.Start
		d.errorf(pos, "Invalid template", "%s", p.Message)
	}
}

func (d *decoder) changeScript(p **structs.ChangeScript) func(*hcl.Block) {
	return func(b *hcl.Block) {
		cs := &structs.ChangeScript{Timeout: 5 * time.Second}
		d.decode(b.Body,
			attr("command", d.str(&cs.Command)),
			attr("args", d.strs(&cs.Args)),
			attr("timeout", d.dur(&cs.Timeout)),
			attr("fail_on_error", d.boolean(&cs.FailOnError)),
		)
		*p = cs
	}
}

func (d *decoder) volumeMount(list *[]*structs.VolumeMount) func(*hcl.Block) {
	return func(b *hcl.Block) {
		vm := &structs.VolumeMount{}
		d.decode(b.Body,
			attr("volume", d.str(&vm.Volume)),
			attr("destination", d.str(&vm.Destination)),
			attr("read_only", d.boolean(&vm.ReadOnly)),
			attr("propagation_mode", d.enum(&vm.PropagationMode, structs.PropagationModes()...)),
			attr("selinux_label", d.str(&vm.SELinuxLabel)),
		)
		*list = append(*list, vm)
	}
}

// vault decodes a vault block; roam keeps it for compatibility only.
func (d *decoder) vault(p **structs.Vault) func(*hcl.Block) {
	return func(b *hcl.Block) {
		v := &structs.Vault{Env: true}
		d.decode(b.Body,
			attr("policies", d.strs(&v.Policies)),
			attr("role", d.str(&v.Role)),
			attr("namespace", d.str(&v.Namespace)),
			attr("cluster", d.str(&v.Cluster)),
			attr("env", d.boolean(&v.Env)),
			attr("disable_file", d.boolean(&v.DisableFile)),
			attr("change_mode", typedEnum(d, &v.ChangeMode, structs.ParseVaultChangeMode)),
			attr("change_signal", d.str(&v.ChangeSignal)),
			attr("allow_token_expiration", d.discard),
		)
		*p = v
	}
}

func (d *decoder) dispatchPayload(p **structs.DispatchPayloadConfig) func(*hcl.Block) {
	return func(b *hcl.Block) {
		dp := &structs.DispatchPayloadConfig{}
		d.decode(b.Body, attr("file", d.str(&dp.File)))
		*p = dp
	}
}

// csiPlugin decodes csi_plugin { id, type, mount_dir,
// stage_publish_base_dir, health_timeout } (kept and warned about: roam
// runs no CSI plugins).
func (d *decoder) csiPlugin(p **structs.TaskCSIPluginConfig) func(*hcl.Block) {
	return func(b *hcl.Block) {
		c := &structs.TaskCSIPluginConfig{}
		d.decode(b.Body,
			attr("id", d.str(&c.ID)),
			attr("type", typedEnum(d, &c.Type, structs.ParseCSIPluginType)),
			attr("mount_dir", d.str(&c.MountDir)),
			attr("stage_publish_base_dir", d.str(&c.StagePublishBaseDir)),
			attr("health_timeout", d.dur(&c.HealthTimeout)),
		)
		*p = c
	}
}

// identity decodes a task's identity block: the one without a name (or
// named "default") says how the task sees its default workload identity;
// named ones are kept on the task for later (not signed yet).
func (d *decoder) identity(t *structs.Task) func(*hcl.Block) {
	return func(b *hcl.Block) {
		w := &structs.WorkloadIdentity{}
		d.decode(b.Body,
			attr("name", d.str(&w.Name)),
			attr("aud", d.strs(&w.Audience)),
			attr("env", d.boolean(&w.Env)),
			attr("file", d.boolean(&w.File)),
			attr("filepath", d.str(&w.Filepath)),
			attr("ttl", d.dur(&w.TTL)),
			attr("change_mode", d.enum(&w.ChangeMode, "noop", "restart", "signal")),
			attr("change_signal", d.str(&w.ChangeSignal)),
		)
		if !w.IsDefault() {
			t.Identities = append(t.Identities, w)
			return
		}
		if t.Identity != nil {
			d.errorf(b.DefRange, "Duplicate identity block", "only one identity block of a task may leave out name (or name it %q)", structs.WorkloadIdentityDefaultName)
			return
		}
		w.Name = structs.WorkloadIdentityDefaultName
		t.Identity = w
	}
}

// listOfNumbers is the cty type of a list of port numbers.
func listOfNumbers() cty.Type { return cty.List(cty.Number) }
