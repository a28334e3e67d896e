//go:build !linux

package artifact

import (
	"errors"
	"os/exec"
)

func setCredential(cmd *exec.Cmd, cred Credential) {}

func limitMemory(n int64) error { return nil }

func dropPrivileges() error {
	return errors.New("artifact fetcher: sandboxed fetching needs Linux")
}

func runNoNewPrivs(cmd *exec.Cmd) error { return cmd.Run() }
