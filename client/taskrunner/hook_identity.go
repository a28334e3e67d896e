package taskrunner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strconv"

	"github.com/roam-sh/roam/client/allocdir"
	"github.com/roam-sh/roam/structs"
)

// identityHook hands the task its workload identity, the JWT the servers
// signed for it when they placed the allocation
// (Alloc.SignedIdentities[task]), the way the task's identity block asks:
//
//	identity { file = true }  → secrets/nomad_token (or filepath, relative
//	                            to the task dir)
//	identity { env = true }   → NOMAD_TOKEN
//	connect { native = true } → CONSUL_HTTP_TOKEN, and CONSUL_HTTP_ADDR (the
//	                            local agent) unless the task sets it
//
// Without an identity block nothing is exposed (Nomad's default); the token
// still travels with the allocation for hooks that authenticate for the
// task (templates and variables, later). An allocation placed before
// identities existed has none, and the task starts as before.
type identityHook struct {
	// agentAddr is the local agent's HTTP address (host:port), what a
	// connect-native task's Consul-compatible client talks to.
	agentAddr string
	logger    *slog.Logger
}

func newIdentityHook(agentAddr string, logger *slog.Logger) *identityHook {
	return &identityHook{agentAddr: agentAddr, logger: logger}
}

func (h *identityHook) Name() string { return "identity" }

func (h *identityHook) Prestart(_ context.Context, req *PrestartRequest, resp *PrestartResponse) error {
	token := req.Alloc.SignedIdentities[req.Task.Name]
	if token == "" {
		return nil
	}
	env := map[string]string{}
	if wi := req.Task.Identity; wi != nil {
		if wi.File {
			if err := writeToken(req.TaskDir.Dir, wi.Filepath, req.Task.User, token); err != nil {
				return fmt.Errorf("write workload identity: %w", err)
			}
		}
		if wi.Env {
			env["NOMAD_TOKEN"] = token
		}
	}
	if isConnectNative(req.Alloc, req.Task) {
		env["CONSUL_HTTP_TOKEN"] = token
		if _, set := req.Task.Env["CONSUL_HTTP_ADDR"]; !set && h.agentAddr != "" {
			env["CONSUL_HTTP_ADDR"] = h.agentAddr
		}
	}
	if len(env) > 0 {
		resp.Env = env
	}
	return nil
}

// writeToken writes the token where the identity block says: rel (relative
// to the task dir) or secrets/nomad_token. Every step goes through an
// os.Root on the task dir: the task can create symlinks in its own
// directories, and a link pointing out of them must not make the client,
// running as root, write a file elsewhere on the host. The write is atomic
// (a task reading the file never sees half a token). With a task user the
// file is that user's alone; otherwise it is world-readable and protected
// by the task dir's permissions, as Nomad does.
func writeToken(taskDir, rel, username, token string) error {
	if rel == "" {
		rel = filepath.Join(allocdir.TaskSecrets, structs.WorkloadIdentityFile)
	}
	if !filepath.IsLocal(rel) {
		return fmt.Errorf("filepath %q leaves the task directory", rel)
	}
	root, err := os.OpenRoot(taskDir)
	if err != nil {
		return err
	}
	defer root.Close()
	tmp := filepath.Join(filepath.Dir(rel), ".nomad_token.tmp")
	_ = root.Remove(tmp) // left by a client that died mid-write
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, werr := f.WriteString(token)
	if err := errors.Join(werr, f.Close(), tokenOwner(root, tmp, username)); err != nil {
		_ = root.Remove(tmp)
		return err
	}
	return root.Rename(tmp, rel)
}

// tokenOwner sets the token file's mode, and its owner when the task runs
// as another user.
func tokenOwner(root *os.Root, name, username string) error {
	if username == "" {
		return root.Chmod(name, 0o644)
	}
	u, err := user.Lookup(username)
	if err != nil {
		return fmt.Errorf("task user: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := root.Chown(name, uid, gid); err != nil {
		return fmt.Errorf("give the token to %s: %w", username, err)
	}
	return root.Chmod(name, 0o600)
}

// isConnectNative reports whether one of the group's services is a
// connect-native service of this task (its task, or the group's only task).
func isConnectNative(alloc *structs.Allocation, task *structs.Task) bool {
	tg := alloc.LookupTaskGroup()
	if tg == nil {
		return false
	}
	for _, s := range tg.Services {
		if s.Connect == nil || !s.Connect.Native {
			continue
		}
		if s.TaskName == task.Name || (s.TaskName == "" && len(tg.Tasks) == 1) {
			return true
		}
	}
	return false
}

// agentHTTPAddr is the local agent's HTTP address from its node, or "".
func agentHTTPAddr(n *structs.Node) string {
	if n == nil {
		return ""
	}
	return n.HTTPAddr
}
