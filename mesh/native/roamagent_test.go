package native_test

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/internal/apitest"
	"github.com/roam-sh/roam/mesh/ca"
	"github.com/roam-sh/roam/mesh/native"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// nativeJob declares two connect-native services, each in the group of
// a task whose workload identity the test borrows (the program the task
// runs does not matter: the test process plays the application).
const nativeJob = `
job "native-%[1]s" {
  datacenters = ["dc1"]
  group "greeter" {
    network { mode = "host" }
    service {
      name     = "greeter-%[1]s"
      port     = "%[2]d"
      provider = "consul"
      connect { native = true }
    }
    task "app" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["3600"]
      }
    }
  }
  group "web" {
    network { mode = "host" }
    service {
      name     = "web-%[1]s"
      port     = "1"
      provider = "consul"
      connect { native = true }
    }
    task "app" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["3600"]
      }
    }
  }
}
`

// TestAgainstARoamAgent runs mesh/native against a real roam agent (server
// and client in-process): the leaves come from the servers' CA through the
// client's /v1/agent/connect endpoints, proven by each allocation's
// workload identity; the client finds the server through
// /v1/health/connect; intentions decide through /v1/agent/connect/authorize.
func TestAgainstARoamAgent(t *testing.T) {
	l := apitest.StartLiveAgent(t, nil)
	id := strings.ToLower(structs.GenerateUUID()[:8])
	port := freePort(t)
	l.RunJob(t, fmt.Sprintf(nativeJob, id, port), structs.TaskStateRunning)
	tokens := identities(t, l, "native-"+id)

	greeter := start(t, l, "greeter-"+id, tokens["greeter"])
	ln, err := tls.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port), greeter.ServerTLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go serveLines(ln)

	web := start(t, l, "web-"+id, tokens["web"])
	var got string
	testutil.WaitFor(t, 30*time.Second, func() error {
		c, err := web.Dial(testutil.Context(t), "greeter-"+id)
		if err != nil {
			return err
		}
		defer c.Close()
		fmt.Fprintln(c, "hello")
		got, err = bufio.NewReader(c).ReadString('\n')
		return err
	})
	if want := "web-" + id + ": hello\n"; got != want {
		t.Fatalf("greeter answered %q, want %q", got, want)
	}

	// A deny intention: the next handshake is refused.
	deny := &api.Intention{SourceName: "web-" + id, DestinationName: "greeter-" + id, Action: structs.IntentionActionDeny}
	if _, _, err := l.Client(t).Connect().IntentionCreate(deny, nil); err != nil {
		t.Fatalf("create intention: %v", err)
	}
	testutil.WaitFor(t, 10*time.Second, func() error {
		c, err := web.Dial(testutil.Context(t), "greeter-"+id)
		if err != nil {
			return nil
		}
		defer c.Close()
		fmt.Fprintln(c, "hello")
		if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
			return nil
		}
		return fmt.Errorf("greeter still answers web")
	})
}

func start(t *testing.T, l *apitest.LiveAgent, service, token string) *native.Service {
	t.Helper()
	s, err := native.New(native.Config{Service: service, AgentAddr: l.URL, Token: token, Logger: testutil.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	select {
	case <-s.Ready():
	case <-time.After(30 * time.Second):
		t.Fatalf("%s got no leaf from the agent", service)
	}
	return s
}

// identities are the workload identities of each group's task, which a
// task reads from NOMAD_TOKEN or secrets/nomad_token.
func identities(t *testing.T, l *apitest.LiveAgent, job string) map[string]string {
	t.Helper()
	allocs, err := l.Agent.Server().State().AllocsByJob(nil, "default", job, false)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, a := range allocs {
		out[a.TaskGroup] = a.SignedIdentities["app"]
	}
	if out["greeter"] == "" || out["web"] == "" {
		t.Fatalf("no workload identities: %v", out)
	}
	return out
}

func serveLines(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			tc := c.(*tls.Conn)
			if tc.Handshake() != nil {
				return
			}
			caller, _ := ca.ServiceIDFromURI(tc.ConnectionState().PeerCertificates[0].URIs[0])
			sc := bufio.NewScanner(c)
			for sc.Scan() {
				fmt.Fprintf(c, "%s: %s\n", caller.Service, sc.Text())
			}
		}()
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
