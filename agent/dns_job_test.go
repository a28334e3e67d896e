package agent

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/testutil"
)

// echoServiceJob registers a group service on a dynamic host port, as a job
// author would, with no DNS configuration.
const echoServiceJob = `
job "echo" {
  datacenters = ["dc1"]
  group "g" {
    network {
      port "http" {}
    }
    service {
      name     = "echo"
      port     = "http"
      provider = "nomad"
      tags     = ["v1"]
    }
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "sleep 3600"]
      }
    }
  }
}
`

// TestJobServiceInDNS: the instance a running job registers is answered by
// the agent's DNS (SRV with the allocated port, A with its address, the tag
// form), and is gone (NXDOMAIN) once the job is stopped.
func TestJobServiceInDNS(t *testing.T) {
	if _, err := exec.LookPath("dig"); err != nil {
		t.Skip("dig not installed")
	}
	a := testAgent(t, nil)
	c := apiClient(t, a)
	registerHCL(t, c, echoServiceJob)
	al := runningAllocs(t, c, "echo", 1)["g"]
	port := mappedPort(t, al, "http")
	want := "1 1 " + strconv.Itoa(port.Value) + " "
	testutil.WaitFor(t, 10*time.Second, func() error {
		srv, status := digShort(t, a.DNSAddr(), "SRV", "_echo._v1.service.consul")
		if status != "NOERROR" || len(srv) != 1 || !strings.HasPrefix(srv[0], want) {
			return fmt.Errorf("SRV: %s %v, want %s...", status, srv, want)
		}
		return nil
	})
	if as, _ := digShort(t, a.DNSAddr(), "A", "echo.service.roam"); len(as) != 1 || as[0] != port.HostIP {
		t.Fatalf("A: %v, want %s", as, port.HostIP)
	}
	if _, _, err := c.Jobs().Deregister("echo", false, nil); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 30*time.Second, func() error {
		if _, status := digShort(t, a.DNSAddr(), "SRV", "echo.service.consul"); status != "NXDOMAIN" {
			return fmt.Errorf("after the job stopped: %s", status)
		}
		return nil
	})
}
