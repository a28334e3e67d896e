// Command devready measures how long `roam agent -dev` takes to report a
// ready node: from starting the process to GET /v1/nodes listing its node
// with status ready, as a user's first `roam node status` would see it. It
// runs the agent -n times (free loopback ports, bridge as in -dev unless
// -no-bridge) and prints each time and the median; with -baseline it does
// the same for a second binary, alternating runs so that both see the same
// load.
//
//	go build -o bin/roam ./cmd/roam && go run ./bench/devready -roam bin/roam -n 5
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"time"
)

func main() {
	roam := flag.String("roam", "bin/roam", "the roam binary to measure")
	baseline := flag.String("baseline", "", "a second binary to measure alongside (e.g. the main branch's)")
	n := flag.Int("n", 5, "runs per binary")
	noBridge := flag.Bool("no-bridge", false, "disable the bridge network (no iptables or links)")
	flag.Parse()
	bins := []string{*roam}
	if *baseline != "" {
		bins = append(bins, *baseline)
	}
	times := map[string][]time.Duration{}
	for range *n {
		for _, bin := range bins {
			d, err := once(bin, *noBridge)
			if err != nil {
				fmt.Fprintf(os.Stderr, "devready: %s: %v\n", bin, err)
				os.Exit(1)
			}
			times[bin] = append(times[bin], d)
		}
	}
	for _, bin := range bins {
		ts := times[bin]
		slices.Sort(ts)
		fmt.Printf("devready %s: median %s (min %s, max %s, n=%d) to a ready node\n",
			bin, ts[len(ts)/2].Round(time.Millisecond), ts[0].Round(time.Millisecond), ts[len(ts)-1].Round(time.Millisecond), len(ts))
	}
}

// once starts one dev agent, waits for its node to be ready and stops it
// with SIGINT (which removes its temporary state).
func once(bin string, noBridge bool) (time.Duration, error) {
	dir, err := os.MkdirTemp("", "roam-devready-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	httpPort := freePort()
	cfg := fmt.Sprintf("ports {\n  http = %d\n  rpc = %d\n  serf = %d\n}\n", httpPort, freePort(), freePort())
	if noBridge {
		cfg += "client {\n  disable_bridge_network = true\n}\n"
	}
	path := filepath.Join(dir, "dev.hcl")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		return 0, err
	}
	log, err := os.Create(filepath.Join(dir, "agent.log"))
	if err != nil {
		return 0, err
	}
	defer log.Close()
	cmd := exec.Command(bin, "agent", "-dev", "-config", path)
	cmd.Stdout, cmd.Stderr = log, log
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGINT)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}()
	url := fmt.Sprintf("http://127.0.0.1:%d/v1/nodes", httpPort)
	for time.Since(start) < time.Minute {
		if ready(url) {
			return time.Since(start), nil
		}
		time.Sleep(2 * time.Millisecond)
	}
	return 0, fmt.Errorf("no ready node within a minute (log in %s)", log.Name())
}

// ready reports whether the agent lists a node with status ready.
func ready(url string) bool {
	resp, err := http.Get(url)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var nodes []struct{ Status string }
	if json.NewDecoder(bufio.NewReader(resp.Body)).Decode(&nodes) != nil {
		return false
	}
	return slices.ContainsFunc(nodes, func(n struct{ Status string }) bool { return n.Status == "ready" })
}

func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
