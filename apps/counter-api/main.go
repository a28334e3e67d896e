// Command counter-api is the counting service of the seed's countdash
// example: HTTP on :9001 (PORT overrides), answering every request with a
// JSON count that increases by one each time, and the host's name.
//
//	$ curl -s localhost:9001
//	{"count":1,"hostname":"a1b2c3"}
package main

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"sync/atomic"

	"github.com/roam-sh/roam/apps/internal/appserve"
)

// defaultPort is where the seed job files expect the service.
const defaultPort = "9001"

// counter answers each request with the next count.
type counter struct {
	n        atomic.Int64
	hostname string
}

// reply is the JSON body of every answer.
type reply struct {
	Count    int64  `json:"count"`
	Hostname string `json:"hostname"`
}

func (c *counter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(reply{Count: c.n.Add(1), Hostname: c.hostname})
}

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	host, _ := os.Hostname()
	appserve.ListenAndServe(logger, "counter-api", ":"+envOr("PORT", defaultPort), &counter{hostname: host})
}

var envOr = appserve.EnvOr
