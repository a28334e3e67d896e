package executor

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestResolveCommand(t *testing.T) {
	taskDir := t.TempDir()
	local := filepath.Join(taskDir, "local")
	if err := os.MkdirAll(local, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(local, "tool"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(local, "notexec"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=/usr/bin:/bin"}
	tests := []struct {
		cmd, want string
		wantErr   bool
	}{
		{"/bin/sh", "/bin/sh", false},
		{"local/tool", filepath.Join(taskDir, "local/tool"), false},
		{"tool", filepath.Join(local, "tool"), false},
		{"sh", "/usr/bin/sh", false},
		{"notexec", "", true},
		{"", "", true},
		{"definitely-not-a-command", "", true},
	}
	for _, tc := range tests {
		got, err := resolveCommand(tc.cmd, taskDir, env)
		if (err != nil) != tc.wantErr || (!tc.wantErr && got != tc.want) {
			t.Errorf("resolveCommand(%q) = %q, %v; want %q (error %v)", tc.cmd, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestProcStatSelf(t *testing.T) {
	start, err := processStartTime(os.Getpid())
	if err != nil || start == 0 {
		t.Fatalf("start time %d %v", start, err)
	}
	if !alive(os.Getpid(), start) {
		t.Fatal("own process not alive")
	}
	if alive(os.Getpid(), start+1) {
		t.Fatal("a different start time must not count as the same process")
	}
}

func TestCheckLostExecutor(t *testing.T) {
	dir := t.TempDir()
	h := &Handle{ExecutorPID: 1 << 30, TaskPID: 1 << 30, StatusPath: filepath.Join(dir, statusFile), Socket: "@roam-test-none"}
	if err := h.Check(); !errors.Is(err, ErrExecutorLost) {
		t.Fatalf("check without executor or status: %v", err)
	}
	if err := writeFileAtomic(h.StatusPath, []byte(`{"exit_code":3,"exited_at":"2024-01-01T00:00:00Z"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := h.Check(); err != nil {
		t.Fatalf("check with a recorded exit: %v", err)
	}
	st, err := h.Wait(t.Context())
	if err != nil || st.ExitCode != 3 || !st.ExitedAt.Equal(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("wait: %+v %v", st, err)
	}
}
