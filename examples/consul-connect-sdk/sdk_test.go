package consulsdk

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/consul/agent/connect"
	consulapi "github.com/hashicorp/consul/api"
	sdk "github.com/hashicorp/consul/connect"
)

const jobFile = `
job "sdk" {
  datacenters = ["*"]
  type = "service"
  group "api" {
    network { mode = "bridge" }
    service {
      name = "api"
      port = "9001"
      task = "app"
      connect { native = true }
    }
    task "app" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["600"]
      }
      identity { file = true }
    }
  }
  group "web" {
    network { mode = "bridge" }
    service {
      name = "web"
      port = "9002"
      task = "app"
      connect { native = true }
    }
    task "app" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["600"]
      }
      identity { file = true }
    }
  }
}
`

func waitFor(t *testing.T, within time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s: %v", within, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// agent builds roam and starts a dev agent on loopback with a bridge named
// for this run; it returns the HTTP address, the roam binary and the data
// directory.
func agent(t *testing.T) (addr, bin, data string) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the agent makes a bridge for the job")
	}
	tmp := t.TempDir()
	bin = filepath.Join(tmp, "roam")
	build := exec.Command("go", "build", "-o", bin, "./cmd/roam")
	build.Dir = "../.."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build roam: %v\n%s", err, out)
	}
	data = filepath.Join(tmp, "data")
	httpPort := freePort(t)
	suffix := fmt.Sprint(time.Now().UnixNano() % 10000)
	cfg := filepath.Join(tmp, "agent.hcl")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`
data_dir = %q
ports {
  http = %d
  rpc  = %d
  serf = %d
}
client {
  network_interface     = "lo"
  bridge_network_name   = "sdk%s"
  bridge_network_subnet = "172.31.%d.0/24"
}
`, data, httpPort, freePort(t), freePort(t), suffix, 100+time.Now().Nanosecond()%100)), 0o644)
	var out bytes.Buffer
	cmd := exec.Command(bin, "agent", "-dev", "-config", cfg)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		exec.Command(bin, "job", "stop", "-purge", "-address", "http://127.0.0.1:"+fmt.Sprint(httpPort), "sdk").Run()
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("agent log:\n%s", out.String())
		}
		removeBridge(t, "sdk"+suffix)
	})
	addr = fmt.Sprintf("127.0.0.1:%d", httpPort)
	waitFor(t, 60*time.Second, func() error {
		resp, err := (&http.Client{Timeout: time.Second}).Get("http://" + addr + "/v1/agent/connect/ca/roots")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return errors.New(resp.Status)
		}
		return nil
	})
	return addr, bin, data
}

// tokens runs the job and reads each group's workload identity from its
// task's secrets directory.
func tokens(t *testing.T, addr, bin, data string) map[string]string {
	jf := filepath.Join(t.TempDir(), "sdk.nomad")
	os.WriteFile(jf, []byte(jobFile), 0o644)
	if out, err := exec.Command(bin, "job", "run", "-detach", "-address", "http://"+addr, jf).CombinedOutput(); err != nil {
		t.Fatalf("job run: %v\n%s", err, out)
	}
	got := map[string]string{}
	waitFor(t, 90*time.Second, func() error {
		files, _ := filepath.Glob(filepath.Join(data, "alloc", "*", "app", "secrets", "nomad_token"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil || len(b) == 0 {
				continue
			}
			alloc := filepath.Base(filepath.Dir(filepath.Dir(filepath.Dir(f))))
			resp, err := http.Get("http://" + addr + "/v1/allocation/" + alloc)
			if err != nil {
				continue
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, g := range []string{"api", "web"} {
				if strings.Contains(string(body), `"TaskGroup":"`+g+`"`) {
					got[g] = strings.TrimSpace(string(b))
				}
			}
		}
		if len(got) < 2 {
			return fmt.Errorf("tokens of %d groups", len(got))
		}
		return nil
	})
	return got
}

func service(t *testing.T, addr, name, token string) *sdk.Service {
	c, err := consulapi.NewClient(&consulapi.Config{Address: addr, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := sdk.NewService(name, c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	select {
	case <-svc.ReadyWait():
	case <-time.After(30 * time.Second):
		t.Fatalf("SDK service %s not ready (no leaf or roots from roam)", name)
	}
	return svc
}

// TestConsulConnectSDKAgainstRoam: an SDK server and an SDK client, with
// certificates from roam, talk mTLS; intentions decide through roam's
// authorize endpoint; a root rotation under load fails no request and both
// sides end up on leaves of the new root.
func TestConsulConnectSDKAgainstRoam(t *testing.T) {
	addr, bin, data := agent(t)
	tok := tokens(t, addr, bin, data)
	api := service(t, addr, "api", tok["api"])
	web := service(t, addr, "web", tok["web"])

	ln, err := tls.Listen("tcp", "127.0.0.1:0", api.ServerTLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	// The SDK's server side: every accepted connection that passes the
	// SDK's verification (chain, SPIFFE ID, roam's authorize) is greeted.
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if err := c.(*tls.Conn).Handshake(); err == nil {
					io.WriteString(c, "hello from api")
				}
			}()
		}
	}()

	resolver := &sdk.StaticResolver{Addr: ln.Addr().String(), CertURI: &connect.SpiffeIDService{Namespace: "default", Datacenter: "dc1", Service: "api"}}
	call := func() (*x509.Certificate, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := web.Dial(ctx, resolver)
		if err != nil {
			return nil, err
		}
		defer conn.Close()
		b, err := io.ReadAll(conn)
		if err != nil {
			return nil, err
		}
		if !strings.Contains(string(b), "hello from api") {
			return nil, fmt.Errorf("answer %q", b)
		}
		return conn.(*tls.Conn).ConnectionState().PeerCertificates[0], nil
	}
	first, err := call()
	if err != nil {
		t.Fatalf("web → api through the SDK: %v", err)
	}

	// A deny intention refuses the handshake; deleting it lets web in again.
	put := func(method, path, body string) {
		req, _ := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s %s: %v %v", method, path, err, resp)
		}
		resp.Body.Close()
	}
	put("PUT", "/v1/connect/intentions/exact?source=web&destination=api", `{"Action":"deny"}`)
	waitFor(t, 10*time.Second, func() error {
		if _, err := call(); err == nil {
			return errors.New("web still reaches api after a deny")
		}
		return nil
	})
	put("DELETE", "/v1/connect/intentions/exact?source=web&destination=api", "")
	waitFor(t, 10*time.Second, func() error { _, err := call(); return err })

	// Rotation under load: requests keep succeeding while both sides move
	// to leaves of the new root.
	var failed atomic.Int64
	stop := make(chan struct{})
	loadDone := make(chan struct{})
	go func() {
		defer close(loadDone)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := call(); err != nil {
				failed.Add(1)
				t.Logf("request during rotation: %v", err)
			}
		}
	}()
	put("PUT", "/v1/connect/ca/rotate", "")
	waitFor(t, 30*time.Second, func() error {
		cert, err := call()
		if err != nil {
			return err
		}
		if cert.SerialNumber.Cmp(first.SerialNumber) == 0 {
			return errors.New("api still presents its leaf from before the rotation")
		}
		return nil
	})
	close(stop)
	<-loadDone
	if n := failed.Load(); n > 0 {
		t.Fatalf("%d requests failed during the root rotation", n)
	}
}

// removeBridge deletes the bridge a dev agent built for this test and the
// firewall rules that name it: an agent leaves its bridge in place when it
// stops (the next start reuses it), and this one will not start again.
func removeBridge(t *testing.T, name string) {
	exec.Command("ip", "link", "del", name).Run()
	for _, table := range []string{"filter", "nat", "mangle"} {
		script := fmt.Sprintf("iptables-save -t %s | grep -v -- '--comment \"roam bridge %s\"' | iptables-restore -T %s", table, name, table)
		if out, err := exec.Command("sh", "-c", script).CombinedOutput(); err != nil {
			t.Logf("remove the rules of bridge %s from %s: %v %s", name, table, err, out)
		}
	}
}
