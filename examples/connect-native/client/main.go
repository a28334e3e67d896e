// Command client calls a service over the mesh as a connect-native
// application: it finds a passing instance through the agent's catalog
// (/v1/health/connect/<service>: sidecar proxies and native instances),
// dials it with mTLS and checks that the server is that service.
//
//	NOMAD_ADDR=http://127.0.0.1:4646 NOMAD_TOKEN=<task identity> \
//	  go run ./examples/connect-native/client -service web -to greeter
package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/roam-sh/roam/mesh/native"
)

func main() {
	service := flag.String("service", "web", "the service this program is")
	to := flag.String("to", "greeter", "the service to call")
	every := flag.Duration("every", 0, "call again at this interval (0: once)")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	svc, err := native.New(native.Config{Service: *service, Logger: logger})
	if err != nil {
		logger.Error("connect native", "error", err)
		os.Exit(1)
	}
	defer svc.Close()
	<-svc.Ready()
	hc := svc.HTTPClient()
	for {
		if err := call(hc, "https://"+*to+".service.consul/"); err != nil {
			logger.Error("call", "to", *to, "error", err)
			if *every == 0 {
				os.Exit(1)
			}
		}
		if *every == 0 {
			return
		}
		time.Sleep(*every)
	}
}

// call prints one answer of the service.
func call(hc *http.Client, url string) error {
	resp, err := hc.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", resp.Status, b)
	}
	fmt.Print(string(b))
	return nil
}
