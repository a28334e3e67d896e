// Command prog is the docker driver tests' container program: one static
// binary, built into a scratch image by the tests, doing what its first
// argument says.
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: prog echo|exit|sleep|lines|alloc|serve|get|cat|write|symlink ...")
		os.Exit(2)
	}
	args := os.Args[2:]
	switch os.Args[1] {
	case "echo": // echo <out> <err>: one line to each stream
		fmt.Println(arg(args, 0))
		fmt.Fprintln(os.Stderr, arg(args, 1))
	case "exit": // exit <code>
		n, _ := strconv.Atoi(arg(args, 0))
		os.Exit(n)
	case "sleep": // sleep [ignore-term]: wait for signals, report them
		sleep(arg(args, 0) == "ignore-term")
	case "lines": // lines <interval>: numbered lines on stdout forever
		lines(arg(args, 0))
	case "alloc": // alloc <MiB>: allocate and touch memory, then wait
		alloc(arg(args, 0))
	case "serve": // serve <port>: answer "ok <hostname>" over HTTP
		serve(arg(args, 0))
	case "get": // get <url>: print the body, exit 1 on failure
		get(arg(args, 0))
	case "cat": // cat <path>
		b, err := os.ReadFile(arg(args, 0))
		fail(err)
		os.Stdout.Write(b)
	case "write": // write <path> <text>; then wait
		fail(os.WriteFile(arg(args, 0), []byte(arg(args, 1)), 0o644))
		fmt.Println("written")
		sleep(false)
	case "symlink": // symlink <target> <link>: plant a link, say so
		fail(os.Symlink(arg(args, 0), arg(args, 1)))
		fmt.Println("planted")
	default:
		fmt.Fprintln(os.Stderr, "unknown mode", os.Args[1])
		os.Exit(2)
	}
}

func arg(args []string, i int) string {
	if i < len(args) {
		return args[i]
	}
	return ""
}

func fail(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func sleep(ignoreTerm bool) {
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR1)
	fmt.Println("ready")
	for s := range ch {
		fmt.Println("got", s)
		if (s == syscall.SIGTERM && !ignoreTerm) || s == syscall.SIGINT {
			os.Exit(0)
		}
	}
}

func lines(interval string) {
	d, err := time.ParseDuration(interval)
	fail(err)
	signal.Ignore(syscall.SIGTERM)
	for i := 0; ; i++ {
		fmt.Printf("line %d\n", i)
		time.Sleep(d)
	}
}

func alloc(mib string) {
	n, _ := strconv.Atoi(mib)
	var keep [][]byte
	for i := 0; i < n; i++ {
		b := make([]byte, 1<<20)
		for j := range b {
			b[j] = byte(j)
		}
		keep = append(keep, b)
	}
	fmt.Println("allocated", len(keep))
	select {}
}

func serve(port string) {
	host, _ := os.Hostname()
	fmt.Println("listening on", port)
	fail(http.ListenAndServe(":"+port, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "ok %s\n", host)
	})))
}

func get(url string) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	fail(err)
	defer resp.Body.Close()
	_, _ = io.Copy(os.Stdout, resp.Body)
}
