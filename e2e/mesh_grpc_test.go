package e2e

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
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
// an upstream on 127.0.0.1:9200 (its own task is grpc-health too, on
// another port: something to run, never called).
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
    task "caller" {
      driver = "raw_exec"
      env {
        PORT = "9101"
      }
      config {
        command = %[1]q
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
// server-streaming Watch that keeps delivering the server's changes.
func TestMeshGRPCThroughAnUpstream(t *testing.T) {
	built := buildApps(t, "grpc-health")
	t.Cleanup(func() { killProgramsIn(t, appsDir()) }) // runs after the agent stopped
	a, _ := bridgeAgent(t)
	c := a.api(t)
	bins := built()
	runJob(t, a, writeJob(t, "grpcmesh.nomad", fmt.Sprintf(grpcMeshJob, filepath.Join(bins, "grpc-health"))))
	t.Cleanup(func() { stopAllJobs(t, c) })
	caller := groupAlloc(t, c, "grpcmesh", "caller")

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
	seen := map[healthpb.HealthCheckResponse_ServingStatus]bool{}
	for i := range 6 {
		r, err := watch.Recv()
		if err != nil {
			t.Fatalf("watch message %d: %v", i, err)
		}
		seen[r.Status] = true
	}
	if !seen[healthpb.HealthCheckResponse_SERVING] || !seen[healthpb.HealthCheckResponse_NOT_SERVING] {
		t.Fatalf("6 watch messages showed only %v: the stream did not follow the server's changes", seen)
	}
}
