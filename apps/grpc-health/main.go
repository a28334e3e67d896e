// Command grpc-health is a gRPC server for the mesh's end-to-end tests:
// the standard health service (grpc.health.v1.Health) on :9100 (PORT
// overrides), with "" SERVING and a service "flip" whose status alternates
// between SERVING and NOT_SERVING every 100 ms, so a Watch call through
// the mesh is a stream that keeps sending.
package main

import (
	"log/slog"
	"net"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// defaultPort is the service's port in the tests' job files.
const defaultPort = "9100"

// flipEvery is how often "flip" changes status: often enough that a test
// sees several stream messages within a second.
const flipEvery = 100 * time.Millisecond

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	port := os.Getenv("PORT")
	if port == "" {
		port = defaultPort
	}
	ln, err := net.Listen("tcp", ":"+port)
	if err != nil {
		logger.Error("listen", "err", err)
		os.Exit(1)
	}
	srv := grpc.NewServer()
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	go flip(hs)
	logger.Info("grpc-health serving", "addr", ln.Addr().String())
	if err := srv.Serve(ln); err != nil {
		logger.Error("serve", "err", err)
		os.Exit(1)
	}
}

// flip alternates the "flip" service's status for ever.
func flip(hs *health.Server) {
	st := healthpb.HealthCheckResponse_SERVING
	for {
		hs.SetServingStatus("flip", st)
		time.Sleep(flipEvery)
		if st == healthpb.HealthCheckResponse_SERVING {
			st = healthpb.HealthCheckResponse_NOT_SERVING
		} else {
			st = healthpb.HealthCheckResponse_SERVING
		}
	}
}
