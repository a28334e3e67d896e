// Command dns measures how many DNS queries per second a roam agent answers
// for a 10-instance SRV answer, against a minimal miekg/dns server answering
// the same message in the same run, and prints name=value lines
// (bench/internal/dnsbench; bench/catalog runs the same after its watchers).
//
//	go run ./bench/dns [-roam bin] [-duration 3s] [-concurrency 8]
package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/roam-sh/roam/bench/internal/dnsbench"
)

func main() {
	if len(os.Args) == 3 && os.Args[1] == dnsbench.ServeBaselineArg {
		os.Exit(dnsbench.ServeBaseline(os.Args[2]))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench-dns", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := dnsbench.DefaultOptions()
	fs.StringVar(&o.Roam, "roam", "", "roam binary (default: build ./cmd/roam)")
	fs.DurationVar(&o.Duration, "duration", o.Duration, "load time per server per round")
	fs.IntVar(&o.Concurrency, "concurrency", o.Concurrency, "UDP sockets sending queries at once")
	fs.IntVar(&o.Rounds, "rounds", o.Rounds, "rounds, alternating baseline and roam")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	if err := dnsbench.Run(o, stdout, logger); err != nil {
		fmt.Fprintln(stderr, "bench-dns:", err)
		return 1
	}
	return 0
}
