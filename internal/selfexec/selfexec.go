// Package selfexec names the running roam binary as a child process to
// start: the executor, the artifact fetcher and the job-file parser all run
// as the same executable with a subcommand, so that nothing beside roam has
// to be installed and each child can drop privileges or take rlimits of its
// own. Tests point Binary at the test binary instead.
package selfexec

import (
	"fmt"
	"os"
)

// Binary says how to start a child process: the program, the arguments that
// come before the child's own (the subcommand), and variables added to its
// environment.
type Binary struct {
	Path string
	Args []string
	Env  []string
}

// Self is the running executable with args (its subcommand) in front.
func Self(args ...string) (Binary, error) {
	p, err := os.Executable()
	if err != nil {
		return Binary{}, fmt.Errorf("find own executable: %w", err)
	}
	return Binary{Path: p, Args: args}, nil
}
