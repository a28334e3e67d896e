package template

import (
	"bytes"
	"fmt"

	"github.com/hashicorp/go-envparse"

	"github.com/roam-sh/roam/structs"
)

// ReadEnv reads the rendered file of template i (one with env = true) and
// parses it as KEY=value lines (quotes, escapes and comments as in .env
// files), through the same confined read as everything else.
func (e *Engine) ReadEnv(i int) (map[string]string, error) {
	s := e.files.specs[i]
	b, err := readBounded(e.files.allocDir, e.files.allocDir, s.rel, structs.MaxTemplateBytes)
	if err != nil {
		return nil, &templateError{index: i, dest: s.t.DestPath, err: fmt.Errorf("read env file: %w", err)}
	}
	env, err := ParseEnv(b)
	if err != nil {
		return nil, &templateError{index: i, dest: s.t.DestPath, err: err}
	}
	return env, nil
}

// ParseEnv parses an env = true template's rendered content.
func ParseEnv(b []byte) (map[string]string, error) {
	env, err := envparse.Parse(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("parse env file: %w", err)
	}
	return env, nil
}
