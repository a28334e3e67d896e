package template

import (
	"os"
	"strconv"
	"time"

	ctconfig "github.com/hashicorp/consul-template/config"

	"github.com/roam-sh/roam/structs"
)

// Read settings of every engine.
const (
	// blockingWait is how long one blocking read waits for a change; the
	// agent answers as soon as the data changes, so this only bounds idle
	// connections.
	blockingWait = 60 * time.Second
	// maxStale lets reads be served by any server, as Nomad's templates do.
	maxStale = 2 * time.Second
)

// baseConfig is consul-template's configuration without templates: every
// client pointed at the local agent, every setting the library would take
// from the agent's own environment (CONSUL_HTTP_ADDR, VAULT_TOKEN,
// NOMAD_TOKEN…) set explicitly, Vault off.
func baseConfig(cfg Config, dialer *closingDialer) *ctconfig.Config {
	c := ctconfig.DefaultConfig()
	addr := "http://" + cfg.Addr
	c.Nomad.Address = ctconfig.String(addr)
	c.Nomad.Enabled = ctconfig.Bool(true)
	c.Nomad.Token = ctconfig.String(cfg.Token)
	c.Nomad.Namespace = ctconfig.String(orDefault(cfg.Namespace, "default"))
	c.Nomad.Transport.CustomDialer = dialer
	// Every watched dependency is a blocking read on its own connection to
	// the agent: a task's engine never holds more than its dependency
	// bound, so that checkDeps fails a template that names too many before
	// it can take the connections the agent grants one client address.
	c.Nomad.Transport.MaxConnsPerHost = ctconfig.Int(MaxDepsPerTask)
	c.Consul.Transport.MaxConnsPerHost = ctconfig.Int(MaxDepsPerTemplate / 2)
	c.Consul.Address = ctconfig.String(cfg.Addr)
	c.Consul.Token = ctconfig.String(cfg.Token)
	c.Consul.TokenFile = ctconfig.String("")
	c.Consul.Namespace = ctconfig.String("")
	c.Vault.Address = ctconfig.String("")
	c.Vault.Token = ctconfig.String("")
	c.Vault.Namespace = ctconfig.String("")
	c.Vault.RenewToken = ctconfig.Bool(false)
	c.Vault.VaultAgentTokenFile = ctconfig.String("")
	c.Vault.K8SAuthRoleName = ctconfig.String("")
	c.Vault.K8SServiceAccountToken = ctconfig.String("")
	c.Vault.K8SServiceAccountTokenPath = ctconfig.String("")
	c.Vault.K8SServiceMountPath = ctconfig.String("")
	c.BlockQueryWaitTime = ctconfig.TimeDuration(blockingWait)
	c.MaxStale = ctconfig.TimeDuration(maxStale)
	c.LogLevel = ctconfig.String("WARN")
	return c
}

// templateConfig is one template block as consul-template takes it.
// Errors in a template are not fatal to the runner: the engine reports
// them per template and the runner keeps watching the template's data.
func templateConfig(t *structs.Template, s *spec, env map[string]string) *ctconfig.TemplateConfig {
	tc := ctconfig.DefaultTemplateConfig()
	tc.Destination = ctconfig.String(s.abs)
	if s.source != "" {
		tc.Source = ctconfig.String(s.source)
	} else {
		tc.Contents = ctconfig.String(t.EmbeddedTmpl)
	}
	tc.LeftDelim = ctconfig.String(t.LeftDelim)
	tc.RightDelim = ctconfig.String(t.RightDelim)
	tc.ErrMissingKey = ctconfig.Bool(t.ErrMissingKey)
	tc.ErrFatal = ctconfig.Bool(false)
	tc.CreateDestDirs = ctconfig.Bool(true)
	tc.Perms = ctconfig.FileMode(s.perms)
	tc.SandboxPath = ctconfig.String("") // file is replaced by a confined reader (funcs.go)
	tc.FunctionDenylist = structs.RefusedTemplateFuncs()
	tc.ExtFuncMap = taskFuncs(env, s.taskDir)
	if w := t.Wait; w != nil && (w.Min != nil || w.Max != nil) {
		tc.Wait = waitConfig(w)
	}
	return tc
}

// waitConfig is a template's wait block: render only once its data has
// been quiet for min, and at the latest max after the first change.
func waitConfig(w *structs.WaitConfig) *ctconfig.WaitConfig {
	wc := &ctconfig.WaitConfig{Enabled: ctconfig.Bool(true)}
	if w.Min != nil {
		wc.Min = ctconfig.TimeDuration(*w.Min)
	}
	if w.Max != nil {
		wc.Max = ctconfig.TimeDuration(*w.Max)
	} else if w.Min != nil {
		wc.Max = ctconfig.TimeDuration(4 * *w.Min) // consul-template's default ratio
	}
	if wc.Min == nil {
		wc.Min = wc.Max
	}
	return wc
}

// parsePerms reads a template's perms ("0644"); validation has checked it.
func parsePerms(s string) os.FileMode {
	if s == "" {
		s = structs.DefaultTemplatePerms
	}
	m, err := strconv.ParseUint(s, 8, 12)
	if err != nil {
		return 0o644
	}
	return os.FileMode(m)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
