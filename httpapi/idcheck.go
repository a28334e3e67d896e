package httpapi

import (
	"net/http"

	"github.com/roam-sh/roam/structs"
)

// identifierParams are the query parameters that name something (the
// namespace and region of every request); like path segments, they end up
// in logs, state keys and error messages.
var identifierParams = []string{"namespace", "region"}

// refuseControlChars answers 400 to a request whose path (after
// percent-decoding: /v1/job/a%0Ab names the job "a\nb") or whose identifier
// parameters hold a control character or invalid UTF-8. It runs before
// routing, so the rule holds for every route, those added later included:
// IDs with control characters cannot exist (job validation refuses them),
// and passing them on would only forge log lines and error output.
func refuseControlChars(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := structs.CheckPrintable(r.URL.Path); err != nil {
			writeError(w, http.StatusBadRequest, "invalid path: "+err.Error())
			return
		}
		q := r.URL.Query()
		for _, name := range identifierParams {
			if err := structs.CheckPrintable(q.Get(name)); err != nil {
				writeError(w, http.StatusBadRequest, "invalid "+name+": "+err.Error())
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
