package httpapi

import (
	"bytes"
	"encoding/json"
	"hash/fnv"
	"net/http"
	"slices"
	"strconv"
	"sync"

	"github.com/roam-sh/roam/structs"
)

// Shared answers for blocking reads of the catalog. When one change wakes a
// thousand watchers of a service, each used to build and JSON-encode its own
// copy of the same answer; on a loaded machine that work, repeated per
// watcher, was most of the time until the last one saw the change. Requests
// that would get the same bytes (same route, same query parameters apart
// from index and wait, same token, same answer index, same node data) now
// share one encoding: the first builds it, the others wait for it and write
// the bytes.

// Bounds: a few distinct answers are hot at a time (one per watched service
// and query shape); an unbounded cache would let a client that varies its
// query grow the agent's memory.
const (
	bodyCacheEntries = 64
	bodyCacheBytes   = 32 << 20
)

// encodedJSON is an endpoint result already encoded (wrap writes it as is).
type encodedJSON []byte

// bodyCache holds recent encoded answers by key, oldest evicted first.
type bodyCache struct {
	mu      sync.Mutex
	entries map[string]*cachedBody
	order   []string // keys, oldest first
	bytes   int
}

// cachedBody is one answer; ready closes once body or err is set, so the
// requests that arrive while it is being built wait for it instead of
// building it again.
type cachedBody struct {
	ready chan struct{}
	body  []byte
	err   error
}

func newBodyCache() *bodyCache { return &bodyCache{entries: map[string]*cachedBody{}} }

// get returns the bytes for key, running encode only if no request built
// them yet. Errors are not kept: the next request tries again.
func (c *bodyCache) get(key string, encode func() ([]byte, error)) ([]byte, error) {
	c.mu.Lock()
	if e, ok := c.entries[key]; ok {
		c.mu.Unlock()
		<-e.ready
		return e.body, e.err
	}
	e := &cachedBody{ready: make(chan struct{})}
	c.entries[key] = e
	c.order = append(c.order, key)
	c.mu.Unlock()

	e.body, e.err = encode()
	close(e.ready)

	c.mu.Lock()
	defer c.mu.Unlock()
	if e.err != nil {
		c.remove(key)
		return e.body, e.err
	}
	c.bytes += len(e.body)
	c.evict()
	return e.body, nil
}

// evict drops the oldest finished entries until the bounds hold. An entry
// still being built stays (its waiters hold it anyway) and is counted once
// it finishes.
func (c *bodyCache) evict() {
	for i := 0; i < len(c.order) && (len(c.order) > bodyCacheEntries || c.bytes > bodyCacheBytes); {
		e := c.entries[c.order[i]]
		select {
		case <-e.ready:
			c.remove(c.order[i])
		default:
			i++
		}
	}
}

// remove drops key; c.mu is held.
func (c *bodyCache) remove(key string) {
	e, ok := c.entries[key]
	if !ok {
		return
	}
	delete(c.entries, key)
	if i := slices.Index(c.order, key); i >= 0 {
		c.order = slices.Delete(c.order, i, i+1)
	}
	if e.err == nil {
		c.bytes -= len(e.body)
	}
}

// answerKey names the bytes a read answers with: the method and path, every
// query parameter except index and wait (which say when to answer, not
// what; url.Values.Encode sorts them, so their order does not matter), the
// token (what a token may see can differ), the answer's index and extra,
// whatever else the body depends on that the index does not cover.
func answerKey(r *http.Request, index uint64, extra string) string {
	q := r.URL.Query()
	q.Del("index")
	q.Del("wait")
	var b bytes.Buffer
	b.WriteString(r.Method)
	b.WriteByte(' ')
	b.WriteString(r.URL.Path)
	b.WriteByte('?')
	b.WriteString(q.Encode())
	b.WriteByte(0)
	b.WriteString(authToken(r))
	b.WriteByte(0)
	b.WriteString(strconv.FormatUint(index, 10))
	b.WriteByte(0)
	b.WriteString(extra)
	return b.String()
}

// sharedJSON answers r with build's result encoded, shared with every other
// request of the same key (see answerKey).
func (h *handlers) sharedJSON(r *http.Request, index uint64, extra string, build func() any) (any, error) {
	if h.bodies == nil {
		return build(), nil
	}
	body, err := h.bodies.get(answerKey(r, index, extra), func() ([]byte, error) { return encodeJSON(r, build()) })
	if err != nil {
		return nil, err
	}
	return encodedJSON(body), nil
}

// nodesFingerprint sums what the Consul shapes show of the instances'
// nodes: the services index does not move when a node's address or meta
// does, so two answers at one index may differ there.
func nodesFingerprint(nodes map[string]*structs.ServiceNode) string {
	ids := make([]string, 0, len(nodes))
	for id := range nodes {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	f := fnv.New64a()
	enc := json.NewEncoder(f)
	for _, id := range ids {
		_ = enc.Encode(nodes[id])
	}
	return strconv.FormatUint(f.Sum64(), 16)
}

// encodeJSON encodes out as writeJSONStatus does (indented with ?pretty).
func encodeJSON(r *http.Request, out any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	if wantPretty(r) {
		enc.SetIndent("", "    ")
	}
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
