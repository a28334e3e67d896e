// Command server is a connect-native service: it serves HTTPS over the
// mesh with roam's mesh/native package, no sidecar in front of it. Only
// clients with a leaf of this cluster whose service the intentions allow
// get through; the answer names the caller's service.
//
//	NOMAD_ADDR=http://127.0.0.1:4646 NOMAD_TOKEN=<task identity> \
//	  go run ./examples/connect-native/server -service greeter -listen 127.0.0.1:9090
//
// Run as a task of a group whose service has `connect { native = true }`,
// NOMAD_TOKEN is the task's workload identity, which proves to the agent
// that the allocation declares the service (examples/connect-native/README.md).
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/roam-sh/roam/mesh/ca"
	"github.com/roam-sh/roam/mesh/native"
)

func main() {
	service := flag.String("service", "greeter", "the service this program is")
	listen := flag.String("listen", "127.0.0.1:9090", "address to serve on")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	svc, err := native.New(native.Config{Service: *service, Logger: logger})
	if err != nil {
		logger.Error("connect native", "error", err)
		os.Exit(1)
	}
	defer svc.Close()
	<-svc.Ready() // the first leaf and roots
	srv := &http.Server{
		Addr: *listen, TLSConfig: svc.ServerTLSConfig(), ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			caller, err := ca.ServiceIDFromURI(r.TLS.PeerCertificates[0].URIs[0])
			if err != nil {
				http.Error(w, err.Error(), http.StatusForbidden)
				return
			}
			fmt.Fprintf(w, "hello %s, this is %s\n", caller.Service, *service)
		}),
	}
	logger.Info("serving over the mesh", "service", *service, "listen", *listen)
	// The certificates come from TLSConfig; no files.
	if err := srv.ListenAndServeTLS("", ""); err != nil {
		logger.Error("serve", "error", err)
		os.Exit(1)
	}
}
