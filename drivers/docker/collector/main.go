package collector

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/roam-sh/roam/drivers/executor"
)

// SubcommandName is the hidden subcommand of the roam binary that runs a
// collector: cmd/roam must call Main(args-after-it) for `roam docker-logger`.
const SubcommandName = "docker-logger"

// Spec is what one collector does. The driver writes it as JSON into the
// collector's directory.
type Spec struct {
	// Endpoint is the Docker daemon's address ("" means DOCKER_HOST or the
	// default socket).
	Endpoint    string `json:"endpoint"`
	ContainerID string `json:"container_id"`
	// Logs is where the output goes and how it is rotated.
	Logs *executor.LogSpec `json:"logs"`
	// CursorPath is where the collector keeps its position in the logs.
	CursorPath string `json:"cursor_path"`
}

// Main runs a collector and returns its exit code. args are the arguments
// after the subcommand: the path of the spec file. Its stderr is its own log.
func Main(args []string) int {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("component", "docker-logger")
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: roam docker-logger <spec.json>")
		return 2
	}
	spec, err := readSpec(args[0])
	if err != nil {
		logger.Error("cannot start", "error", err)
		return 1
	}
	logger = logger.With("container_id", spec.ContainerID)
	// SIGTERM (and SIGINT) ask for the final pass; SIGHUP, from the client's
	// session ending, must not end the collector.
	signal.Ignore(syscall.SIGHUP, syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, spec, logger); err != nil {
		logger.Error("collector failed", "error", err)
		return 1
	}
	return 0
}

func readSpec(path string) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read spec: %w", err)
	}
	var s Spec
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("decode spec %s: %w", path, err)
	}
	if s.ContainerID == "" || s.Logs == nil {
		return nil, fmt.Errorf("spec %s: container_id and logs are required", path)
	}
	return &s, nil
}
