package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/roam-sh/roam/netns"
	"github.com/roam-sh/roam/testutil"
)

// grpcMeshJob runs apps/grpc-health (%[1]s) as the connect service
// grpc-api and, in a second group, a caller whose sidecar has grpc-api as
// an upstream on 127.0.0.1:9200; the caller's task only checks that the
// upstream listens when it starts, and waits (the test is the gRPC client).
const grpcMeshJob = `
job "grpcmesh" {
  group "api" {
    network {
      mode = "bridge"
    }
    service {
      name = "grpc-api"
      port = "9100"
      connect {
        sidecar_service {}
      }
    }
    task "api" {
      driver = "raw_exec"
      config {
        command = %[1]q
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
  group "caller" {
    network {
      mode = "bridge"
    }
    service {
      name = "grpc-caller"
      port = "9101"
      connect {
        sidecar_service {
          proxy {
            upstreams {
              destination_name = "grpc-api"
              local_bind_port  = 9200
            }
          }
        }
      }
    }
    # The application's first act is to connect to its upstream: with
    # restart attempts 0 it fails the allocation unless the sidecar's
    # listener was open before it started (nomad#15709).
    restart {
      attempts = 0
      mode     = "fail"
    }
    task "caller" {
      driver = "raw_exec"
      config {
        command = "/bin/bash"
        args    = ["-c", "(exec 3<>/dev/tcp/127.0.0.1/9200) || exit 1; echo upstream-listening; exec sleep 3600"]
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
`

// TestMeshGRPCThroughAnUpstream: a gRPC client in the caller's allocation
// namespace reaches a real gRPC server (exec task) of another allocation
// through the caller's upstream, both sidecars and mTLS between them:
// unary health checks, the server's own error statuses, and a
// server-streaming Watch that keeps delivering the server's changes, and
// goes on doing so while the agent is SIGKILLed and after it restarts and
// re-attaches to the sidecars (a long-lived stream through the mesh). The
// caller's application finds its upstream listening when it starts, and on
// stop its sidecar outlives it.
func TestMeshGRPCThroughAnUpstream(t *testing.T) {
	built := buildApps(t, "grpc-health")
	t.Cleanup(func() { killProgramsIn(t, appsDir()) }) // runs after the agent stopped
	a, _ := bridgeAgent(t)
	c := a.api(t)
	bins := built()
	// The agent's own cleanup (that of the agent running at the end) purges the job.
	runJob(t, a, writeJob(t, "grpcmesh.nomad", fmt.Sprintf(grpcMeshJob, filepath.Join(bins, "grpc-health"))))
	caller := groupAlloc(t, c, "grpcmesh", "caller")
	// The caller's task found its upstream listening when it started.
	testutil.WaitFor(t, 30*time.Second, func() error {
		b, _ := os.ReadFile(filepath.Join(a.dataDir, "alloc", caller.ID, "alloc", "logs", "caller.stdout.0"))
		if !strings.Contains(string(b), "upstream-listening") {
			return fmt.Errorf("the caller's output %q does not say its upstream listened", b)
		}
		return nil
	})

	dial := netns.Dialer(netns.NamedPath(caller.ID), nil)
	cc, err := grpc.NewClient("passthrough:///127.0.0.1:9200",
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) { return dial(ctx, "tcp", addr) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	hc := healthpb.NewHealthClient(cc)

	// Until grpc-api's sidecar passes its check the upstream has no instance.
	testutil.WaitFor(t, 60*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		r, err := hc.Check(ctx, &healthpb.HealthCheckRequest{})
		if err != nil {
			return err
		}
		if r.Status != healthpb.HealthCheckResponse_SERVING {
			return fmt.Errorf("Check: %v", r.Status)
		}
		return nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "no-such"}); status.Code(err) != codes.NotFound {
		t.Fatalf("Check(no-such): %v, want the server's NotFound", err)
	}
	watch, err := hc.Watch(ctx, &healthpb.HealthCheckRequest{Service: "flip"})
	if err != nil {
		t.Fatal(err)
	}
	// The server's health service coalesces changes a slow reader has not
	// taken yet, so the test asks for messages and both statuses, not a
	// strict alternation.
	recv := func(when string) {
		t.Helper()
		seen := map[healthpb.HealthCheckResponse_ServingStatus]bool{}
		for i := range 6 {
			r, err := watch.Recv()
			if err != nil {
				t.Fatalf("%s: watch message %d: %v", when, i, err)
			}
			seen[r.Status] = true
		}
		if !seen[healthpb.HealthCheckResponse_SERVING] || !seen[healthpb.HealthCheckResponse_NOT_SERVING] {
			t.Fatalf("%s: 6 watch messages showed only %v: the stream did not follow the server's changes", when, seen)
		}
	}
	recv("before the kill")
	before := groupAlloc(t, c, "grpcmesh", "caller").TaskStates["connect-proxy-grpc-caller"]

	a.kill()
	recv("with the agent dead")
	a = launch(t, a.dataDir, a.cfgPath)
	c = a.api(t)
	testutil.WaitFor(t, 60*time.Second, func() error {
		alloc, _, err := c.Allocations().Info(caller.ID, nil)
		if err != nil {
			return err
		}
		if ts := alloc.TaskStates["connect-proxy-grpc-caller"]; ts == nil || ts.Restarts != 0 || !ts.StartedAt.Equal(before.StartedAt) {
			return fmt.Errorf("the caller's sidecar restarted: %+v", ts)
		}
		return nil
	})
	recv("after the restart")
	if r, err := hc.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil || r.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("Check after the restart: %v, %v", r, err)
	}

	// On stop the application goes first, the sidecar after it.
	if out, code := a.roam(t, "job", "stop", "grpcmesh"); code != 0 {
		t.Fatalf("job stop: %d\n%s", code, out)
	}
	testutil.WaitFor(t, 60*time.Second, func() error {
		alloc, _, err := c.Allocations().Info(caller.ID, nil)
		if err != nil {
			return err
		}
		app, px := alloc.TaskStates["caller"], alloc.TaskStates["connect-proxy-grpc-caller"]
		if app == nil || px == nil || app.State != "dead" || px.State != "dead" {
			return fmt.Errorf("the caller's tasks are not both dead yet")
		}
		if px.FinishedAt.Before(app.FinishedAt) {
			t.Fatalf("the sidecar finished at %s, before its application (%s)", px.FinishedAt, app.FinishedAt)
		}
		return nil
	})
}
