package agent

import (
	"context"
	"errors"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/internal/clustertls"
	"github.com/roam-sh/roam/structs"
)

// serverOnlyMethods are the methods a client certificate must not reach:
// each changes who runs the cluster, its CA or keyring, or reads or
// replaces the whole state with its private keys.
var serverOnlyMethods = []string{
	structs.MethodConnectCARotate,
	structs.MethodKeyringRotate,
	structs.MethodMembershipAddServer,
	structs.MethodMembershipHello,
	structs.MethodMembershipRaftStats,
	structs.MethodOperatorAutopilotSetConfiguration,
	structs.MethodOperatorRaftRemovePeer,
	structs.MethodOperatorSnapshotRestore,
	structs.MethodOperatorSnapshotSave,
}

// guardRefused reports whether err is the server's RPC guard turning the
// call away (not the endpoint answering).
func guardRefused(err error) bool {
	return errors.Is(err, structs.ErrPermissionDenied) &&
		(strings.Contains(err.Error(), "is for servers") || strings.Contains(err.Error(), "declares no callers"))
}

// TestTLSClientCertMethodTable walks every registered RPC method with a
// client agent's certificate: the server-only ones are refused before they
// run, every other one reaches its endpoint; a server's certificate
// reaches them all.
func TestTLSClientCertMethodTable(t *testing.T) {
	ca := newTestCA(t)
	srv := tlsServerAgents(t, ca, 1)[0]
	addr := srv.Server().LocalAddr()
	clientPool := rpcPool(t, ca.issue("client", clustertls.ClientName("global")))
	serverPool := rpcPool(t, ca.issue("peer", clustertls.ServerName("global")))

	methods := srv.Server().RPCMethods()
	if len(methods) < 80 {
		t.Fatalf("only %d methods registered", len(methods))
	}
	var refused []string
	for _, m := range methods {
		argsType, replyType, ok := srv.Server().RPCSignature(m)
		if !ok {
			t.Fatalf("%s has no signature", m)
		}
		call := func(pool interface {
			RPCContext(context.Context, string, string, any, any) error
		}) error {
			// Zero arguments: most endpoints refuse them; a read that
			// blocks is cut short. Either way the guard let it through.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return pool.RPCContext(ctx, addr, m, reflect.New(argsType.Elem()).Interface(), reflect.New(replyType.Elem()).Interface())
		}
		if err := call(clientPool); guardRefused(err) {
			refused = append(refused, m)
		}
		if slices.Contains(serverOnlyMethods, m) && !strings.HasPrefix(m, "Operator.Snapshot") {
			continue // a server's certificate would act on them (join, rotate, remove)
		}
		if err := call(serverPool); guardRefused(err) {
			t.Errorf("%s with a server certificate: refused by the guard: %v", m, err)
		}
	}
	if !slices.Equal(refused, serverOnlyMethods) {
		t.Fatalf("a client certificate is refused\n  %v\nwant exactly\n  %v", refused, serverOnlyMethods)
	}
}

// TestTLSClientAgentRefusesServerOnlyCalls: a client agent's HTTP API
// answers a snapshot request with a 403 saying to ask a server agent,
// without sending it, and still forwards a user's job reads and writes.
func TestTLSClientAgentRefusesServerOnlyCalls(t *testing.T) {
	ca := newTestCA(t)
	srv := tlsServerAgents(t, ca, 1)[0]
	client := testAgent(t, func(c *Config) {
		c.DevMode = false
		c.Server.Enabled = false
		c.Client.Servers = []string{srv.Server().LocalAddr()}
		c.TLS = ca.issue("client", clustertls.ClientName("global"))
	})
	resp, err := http.Get("http://" + client.HTTPAddr() + "/v1/operator/snapshot")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 200) // the start of the answer: a leaked snapshot is large
	n, _ := io.ReadFull(resp.Body, buf)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(buf[:n]), "must be sent to a server agent") {
		t.Fatalf("snapshot through a client agent: %d %q, want 403 naming a server agent", resp.StatusCode, buf[:n])
	}
	c, err := api.NewClient(api.Config{Address: "http://" + client.HTTPAddr()})
	if err != nil {
		t.Fatal(err)
	}
	alloc := runJob(t, c, loggingJob("via-client", client.cfg.NodeName))
	if alloc.NodeID == "" {
		t.Fatalf("job registered through the client agent did not place: %+v", alloc)
	}
}
