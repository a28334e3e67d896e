package httpapi

import (
	"net/http"
	"strconv"

	"github.com/roam-sh/roam/structs"
)

// Metadata headers. Nomad's Go client parses all three on reads and the index
// on writes; missing headers make some of its versions fail.
const (
	headerIndex       = "X-Nomad-Index"
	headerKnownLeader = "X-Nomad-KnownLeader"
	headerLastContact = "X-Nomad-LastContact"
	headerNextToken   = "X-Nomad-NextToken"
)

// wrap turns an endpoint into a handler: errors become plain-text bodies
// with statusCode's code, results JSON (indented with ?pretty).
func (h *handlers) wrap(fn endpoint) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out, err := fn(w, r)
		if err != nil {
			code := statusCode(err)
			if code >= http.StatusInternalServerError {
				h.logger.Warn("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
			}
			writeError(w, code, errorMessage(err))
			return
		}
		if b, ok := out.(encodedJSON); ok {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(b)
			return
		}
		if sb, ok := out.(statusBody); ok {
			sb.write(w, r)
			return
		}
		writeJSON(w, r, out)
	})
}

// statusBody is an endpoint result answered with a status other than 200:
// a 409 carrying the conflicting object, a 204 without a body.
type statusBody struct {
	code int
	body any
}

func (sb statusBody) write(w http.ResponseWriter, r *http.Request) {
	if sb.code == http.StatusNoContent {
		w.WriteHeader(sb.code)
		return
	}
	writeJSONStatus(w, r, sb.code, sb.body)
}

// writeJSON encodes out with 200; encoding into a buffer first lets a value that
// cannot be encoded still produce a clean 500.
func writeJSON(w http.ResponseWriter, r *http.Request, out any) {
	writeJSONStatus(w, r, http.StatusOK, out)
}

// writeJSONStatus encodes out with the given status.
func writeJSONStatus(w http.ResponseWriter, r *http.Request, code int, out any) {
	body, err := encodeJSON(r, out)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "encode response: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

func wantPretty(r *http.Request) bool {
	q := r.URL.Query()
	if !q.Has("pretty") {
		return false
	}
	v := q.Get("pretty")
	b, err := strconv.ParseBool(v)
	return v == "" || err != nil || b
}

// writeError writes a plain-text error body.
func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(msg + "\n"))
}

// setQueryMeta writes a read's metadata headers.
func setQueryMeta(w http.ResponseWriter, m *structs.QueryMeta) {
	h := w.Header()
	h.Set(headerIndex, strconv.FormatUint(m.Index, 10))
	h.Set(headerKnownLeader, strconv.FormatBool(m.KnownLeader))
	h.Set(headerLastContact, strconv.FormatInt(m.LastContact.Milliseconds(), 10))
	if m.NextToken != "" {
		h.Set(headerNextToken, m.NextToken)
	}
}

// setIndex writes a write's index header.
func setIndex(w http.ResponseWriter, index uint64) {
	w.Header().Set(headerIndex, strconv.FormatUint(index, 10))
}

// list returns s, or an empty slice so that it encodes as [] and not null.
func list[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
