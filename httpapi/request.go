package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/roam-sh/roam/structs"
)

// parseQuery fills the common read options from the URL and headers.
// Malformed values are 400s rather than silently ignored: a typo in ?index
// would otherwise turn a blocking query into a busy loop. The read carries
// the request's context: a blocking query ends when the HTTP client goes,
// here and, across the RPC wire, on the server.
func parseQuery(r *http.Request, q *structs.QueryOptions) error {
	q.SetContext(r.Context())
	v := r.URL.Query()
	q.Region = v.Get("region")
	q.Namespace = v.Get("namespace")
	q.Prefix = v.Get("prefix")
	q.Filter = v.Get("filter")
	q.NextToken = v.Get("next_token")
	q.AuthToken = authToken(r)
	var err error
	if q.MinQueryIndex, err = uintParam(v, "index"); err != nil {
		return err
	}
	if q.MaxQueryTime, err = waitParam(v); err != nil {
		return err
	}
	if q.AllowStale, err = flagParam(v, "stale"); err != nil {
		return err
	}
	q.AllowStale = q.AllowStale || plantedStaleReads
	if q.Reverse, err = boolParam(v, "reverse"); err != nil {
		return err
	}
	perPage, err := uintParam(v, "per_page")
	if err != nil {
		return err
	}
	if perPage > 1<<31-1 {
		return badRequest("invalid per_page %d: too large", perPage)
	}
	q.PerPage = int32(perPage)
	return nil
}

// parseWrite fills the common write options.
func parseWrite(r *http.Request, w *structs.WriteRequest) {
	v := r.URL.Query()
	w.Region = v.Get("region")
	w.Namespace = v.Get("namespace")
	w.AuthToken = authToken(r)
}

// authToken reads X-Nomad-Token, X-Consul-Token (Consul's clients, such
// as its Connect SDK, send a task's workload identity there), or an
// Authorization: Bearer token.
func authToken(r *http.Request) string {
	for _, h := range []string{"X-Nomad-Token", "X-Consul-Token"} {
		if t := r.Header.Get(h); t != "" {
			return t
		}
	}
	if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		return strings.TrimSpace(a[7:])
	}
	return ""
}

func uintParam(v url.Values, name string) (uint64, error) {
	s := v.Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, badRequest("invalid %s %q: must be a non-negative integer", name, s)
	}
	return n, nil
}

// waitParam parses ?wait= as a Go duration ("30s", "5000ms"); Nomad's
// clients send milliseconds with a unit.
func waitParam(v url.Values) (time.Duration, error) {
	s := v.Get("wait")
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, badRequest("invalid wait %q: must be a duration such as 30s or 5m", s)
	}
	return d, nil
}

func boolParam(v url.Values, name string) (bool, error) {
	s := v.Get(name)
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, badRequest("invalid %s %q: must be true or false", name, s)
	}
	return b, nil
}

// flagParam is a boolean that is true when present without a value (?stale).
func flagParam(v url.Values, name string) (bool, error) {
	if !v.Has(name) {
		return false, nil
	}
	if v.Get(name) == "" {
		return true, nil
	}
	return boolParam(v, name)
}

func intParam(v url.Values, name string) (int, error) {
	s := v.Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, badRequest("invalid %s %q: must be an integer", name, s)
	}
	return n, nil
}

// decodeBody decodes a JSON body into out. An empty body leaves out as is
// (endpoints check what they require). Unknown fields are accepted, as
// Nomad's API does: newer Nomad clients send fields roam does not know.
func decodeBody(r *http.Request, out any) error {
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(out); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return bodyError(err)
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return bodyError(err)
		}
		return badRequest("invalid request body: unexpected data after the JSON value")
	}
	return nil
}

// bodyError turns a decoding error into a 400 naming the problem (or keeps
// a body-limit error, which statusCode maps to 413).
func bodyError(err error) error {
	var mbe *http.MaxBytesError
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &mbe):
		return err
	case errors.As(err, &syn):
		return badRequest("invalid request body: malformed JSON at byte %d: %v", syn.Offset, err)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(top level)"
		}
		return badRequest("invalid request body: field %s: cannot use JSON %s as %s", field, typ.Value, typ.Type)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("invalid request body: truncated JSON")
	}
	return badRequest("invalid request body: %v", fmt.Sprint(err))
}
