package template

import (
	"fmt"
	"path/filepath"
	"strings"
	gotemplate "text/template"

	"github.com/roam-sh/roam/internal/confine"
	"github.com/roam-sh/roam/structs"
)

// taskFuncs replaces the consul-template functions that would reach past
// the task: env, mustEnv and envOrDefault fall back to the agent's own
// environment in the library (its tokens, its proxy settings), and file
// checks a path once and reads it later, by name, from the agent's working
// directory. Here the environment is the task's alone and file reads
// beneath the task directory at each render.
func taskFuncs(env map[string]string, taskDir string) gotemplate.FuncMap {
	return gotemplate.FuncMap{
		"env": func(k string) (string, error) { return env[k], nil },
		"mustEnv": func(k string) (string, error) {
			if v := env[k]; v != "" {
				return v, nil
			}
			return "", fmt.Errorf("environment variable %s is not set", k)
		},
		"envOrDefault": func(k, def string) (string, error) {
			if v, ok := env[k]; ok {
				return v, nil
			}
			return def, nil
		},
		"file": func(p string) (string, error) {
			if p == "" {
				return "", nil
			}
			// The task dir's parent is the allocation dir (client/allocdir).
			b, err := readBounded(filepath.Dir(taskDir), taskDir, taskRel(taskDir, p), structs.MaxTemplateBytes)
			if err != nil {
				return "", fmt.Errorf("file %q: %w", p, err)
			}
			return string(b), nil
		},
	}
}

// taskRel is p relative to the task directory: a relative path as it is,
// a host path inside the task directory made relative, and any other
// absolute path taken from the task directory as its root ("/local/x" is
// local/x, what a task with its own filesystem sees there). confine then
// refuses whatever leads out.
func taskRel(taskDir, p string) string {
	if !filepath.IsAbs(p) {
		return p
	}
	if rel, ok := confine.Rel(taskDir, p); ok {
		return rel
	}
	return strings.TrimLeft(filepath.Clean(p), "/")
}
