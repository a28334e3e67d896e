package httpapi

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/roam-sh/roam/mesh/intentions"
	"github.com/roam-sh/roam/structs"
)

// Intentions, Consul-shaped (docs/mesh.md): the legacy /v1/connect/intentions
// endpoints (by ID, exact pair, match, check) and the service-intentions
// config entry of /v1/config, a view of the same intentions grouped by
// destination. All of them read and write the one replicated set.

// intentionList reads every intention (blocking on ?index=).
func (h *handlers) intentionList(w http.ResponseWriter, r *http.Request) ([]*structs.Intention, error) {
	var args structs.IntentionListRequest
	if err := consulQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.IntentionListResponse
	if err := h.rpc.RPC(structs.MethodIntentionList, &args, &out); err != nil {
		return nil, err
	}
	setConsulMeta(w, &out.QueryMeta)
	return list(out.Intentions), nil
}

func (h *handlers) intentionApply(r *http.Request, req *structs.IntentionRequest) (*structs.IntentionResponse, error) {
	parseWrite(r, &req.WriteRequest)
	var out structs.IntentionResponse
	if err := h.rpc.RPC(structs.MethodIntentionApply, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// intentionsGet: GET /v1/connect/intentions.
func (h *handlers) intentionsGet(w http.ResponseWriter, r *http.Request) (any, error) {
	return h.intentionList(w, r)
}

// intentionBody is what Consul's clients send for one intention.
type intentionBody struct {
	SourceNS, SourceName, DestinationNS, DestinationName string
	Action                                               string
	Description                                          string
	Meta                                                 map[string]string
	Permissions                                          []any
}

func (b *intentionBody) intention() (*structs.Intention, error) {
	if len(b.Permissions) > 0 {
		return nil, badRequest("intention permissions (L7) are not supported: roam's proxy enforces intentions at L4")
	}
	a, err := structs.ParseIntentionAction(strings.ToLower(b.Action))
	if err != nil {
		return nil, badRequest("%v", err)
	}
	return &structs.Intention{SourceNS: b.SourceNS, SourceName: b.SourceName, DestinationNS: b.DestinationNS,
		DestinationName: b.DestinationName, Action: a, Description: b.Description, Meta: b.Meta}, nil
}

// intentionCreate: POST /v1/connect/intentions, refused when the pair has
// an intention already (Consul's create); answers {"ID": …}.
func (h *handlers) intentionCreate(w http.ResponseWriter, r *http.Request) (any, error) {
	var b intentionBody
	if err := decodeBody(r, &b); err != nil {
		return nil, err
	}
	in, err := b.intention()
	if err != nil {
		return nil, err
	}
	in.ID = structs.GenerateUUID()
	out, err := h.intentionApply(r, &structs.IntentionRequest{Upsert: []*structs.Intention{in}})
	if err != nil {
		return nil, err
	}
	setIndex(w, out.Index)
	return map[string]string{"ID": out.IDs[0]}, nil
}

// intentionByID: GET /v1/connect/intentions/:id.
func (h *handlers) intentionByID(w http.ResponseWriter, r *http.Request) (any, error) {
	all, err := h.intentionList(w, r)
	if err != nil {
		return nil, err
	}
	for _, in := range all {
		if in.ID == r.PathValue("id") {
			return in, nil
		}
	}
	return nil, &httpError{code: http.StatusNotFound, msg: "Intention not found"}
}

// intentionUpdate: PUT /v1/connect/intentions/:id.
func (h *handlers) intentionUpdate(w http.ResponseWriter, r *http.Request) (any, error) {
	var b intentionBody
	if err := decodeBody(r, &b); err != nil {
		return nil, err
	}
	in, err := b.intention()
	if err != nil {
		return nil, err
	}
	in.ID = r.PathValue("id")
	out, err := h.intentionApply(r, &structs.IntentionRequest{Upsert: []*structs.Intention{in}})
	if err != nil {
		return nil, err
	}
	setIndex(w, out.Index)
	return true, nil
}

// intentionDeleteByID: DELETE /v1/connect/intentions/:id.
func (h *handlers) intentionDeleteByID(w http.ResponseWriter, r *http.Request) (any, error) {
	out, err := h.intentionApply(r, &structs.IntentionRequest{Delete: []string{r.PathValue("id")}})
	if err != nil {
		return nil, err
	}
	setIndex(w, out.Index)
	return true, nil
}

// splitService parses Consul's "name" or "namespace/name".
func splitService(s string) (intentions.Service, error) {
	if s == "" {
		return intentions.Service{}, badRequest("source and destination are required")
	}
	ns, name, ok := strings.Cut(s, "/")
	if !ok {
		return intentions.Service{Namespace: intentions.DefaultNamespace, Name: s}, nil
	}
	if strings.Contains(name, "/") {
		return intentions.Service{}, badRequest("%q: admin partitions are not supported; use name or namespace/name", s)
	}
	return intentions.Service{Namespace: ns, Name: name}, nil
}

func pairOf(r *http.Request) (src, dst intentions.Service, err error) {
	if src, err = splitService(r.URL.Query().Get("source")); err != nil {
		return
	}
	dst, err = splitService(r.URL.Query().Get("destination"))
	return
}

func findPair(all []*structs.Intention, src, dst intentions.Service) *structs.Intention {
	for _, in := range all {
		if in.SourceNS == src.Namespace && in.SourceName == src.Name && in.DestinationNS == dst.Namespace && in.DestinationName == dst.Name {
			return in
		}
	}
	return nil
}

// intentionExactGet: GET /v1/connect/intentions/exact?source=&destination=.
func (h *handlers) intentionExactGet(w http.ResponseWriter, r *http.Request) (any, error) {
	src, dst, err := pairOf(r)
	if err != nil {
		return nil, err
	}
	all, err := h.intentionList(w, r)
	if err != nil {
		return nil, err
	}
	if in := findPair(all, src, dst); in != nil {
		return in, nil
	}
	return nil, &httpError{code: http.StatusNotFound, msg: "Intention not found"}
}

// intentionExactPut: PUT /v1/connect/intentions/exact, an upsert by pair.
func (h *handlers) intentionExactPut(w http.ResponseWriter, r *http.Request) (any, error) {
	src, dst, err := pairOf(r)
	if err != nil {
		return nil, err
	}
	var b intentionBody
	if err := decodeBody(r, &b); err != nil {
		return nil, err
	}
	b.SourceNS, b.SourceName, b.DestinationNS, b.DestinationName = src.Namespace, src.Name, dst.Namespace, dst.Name
	in, err := b.intention()
	if err != nil {
		return nil, err
	}
	out, err := h.intentionApply(r, &structs.IntentionRequest{Upsert: []*structs.Intention{in}})
	if err != nil {
		return nil, err
	}
	setIndex(w, out.Index)
	return true, nil
}

// intentionExactDelete: DELETE /v1/connect/intentions/exact.
func (h *handlers) intentionExactDelete(w http.ResponseWriter, r *http.Request) (any, error) {
	src, dst, err := pairOf(r)
	if err != nil {
		return nil, err
	}
	all, err := h.intentionList(w, r)
	if err != nil {
		return nil, err
	}
	in := findPair(all, src, dst)
	if in == nil {
		return true, nil
	}
	out, err := h.intentionApply(r, &structs.IntentionRequest{Delete: []string{in.ID}})
	if err != nil {
		return nil, err
	}
	setIndex(w, out.Index)
	return true, nil
}

// intentionMatch: GET /v1/connect/intentions/match?by=source|destination&name=…
// (repeatable): for each name, the intentions that apply to it on that
// side, in evaluation order.
func (h *handlers) intentionMatch(w http.ResponseWriter, r *http.Request) (any, error) {
	by := r.URL.Query().Get("by")
	if by != "source" && by != "destination" {
		return nil, badRequest(`by must be "source" or "destination"`)
	}
	names := r.URL.Query()["name"]
	if len(names) == 0 || len(names) > 64 {
		return nil, badRequest("name is required (at most 64)")
	}
	all, err := h.intentionList(w, r)
	if err != nil {
		return nil, err
	}
	wild := intentions.Service{Namespace: structs.IntentionWildcard, Name: structs.IntentionWildcard}
	out := map[string][]*structs.Intention{}
	for _, n := range names {
		svc, err := splitService(n)
		if err != nil {
			return nil, err
		}
		matched := []*structs.Intention{}
		for _, in := range all {
			if (by == "destination" && intentions.Applies(in, wild, svc)) || (by == "source" && intentions.Applies(in, svc, wild)) {
				matched = append(matched, in)
			}
		}
		out[n] = matched
	}
	return out, nil
}

// intentionCheck: GET /v1/connect/intentions/check?source=&destination=,
// {"Allowed": …} from the servers' current set and this agent's default
// policy.
func (h *handlers) intentionCheck(w http.ResponseWriter, r *http.Request) (any, error) {
	src, dst, err := pairOf(r)
	if err != nil {
		return nil, err
	}
	all, err := h.intentionList(w, r)
	if err != nil {
		return nil, err
	}
	d := intentions.Match(all, h.defaultIntentionPolicy(), src, dst)
	return map[string]any{"Allowed": d.Allowed, "Reason": d.Reason}, nil
}

// defaultIntentionPolicy is the node's default when it has a client.
func (h *handlers) defaultIntentionPolicy() intentions.Policy {
	if p, ok := h.connect.(interface{ DefaultIntentionPolicy() intentions.Policy }); ok {
		return p.DefaultIntentionPolicy()
	}
	return intentions.PolicyAllow
}

// serviceIntentions is Consul's service-intentions config entry.
type serviceIntentions struct {
	Kind        string
	Name        string
	Namespace   string `json:",omitempty"`
	Sources     []*sourceIntention
	Meta        map[string]string `json:",omitempty"`
	CreateIndex uint64
	ModifyIndex uint64
}

type sourceIntention struct {
	Name        string
	Namespace   string `json:",omitempty"`
	Action      string
	Permissions []any `json:",omitempty"`
	Precedence  int
	Type        string
	Description string            `json:",omitempty"`
	LegacyID    string            `json:",omitempty"`
	LegacyMeta  map[string]string `json:",omitempty"`
}

const kindServiceIntentions = "service-intentions"

// maxEntrySources bounds one config entry.
const maxEntrySources = 1024

// configApply: PUT /v1/config with a service-intentions entry: the
// destination's intentions become exactly the entry's sources, in one
// write (no moment with none).
func (h *handlers) configApply(w http.ResponseWriter, r *http.Request) (any, error) {
	var e serviceIntentions
	if err := decodeBody(r, &e); err != nil {
		return nil, err
	}
	if !strings.EqualFold(e.Kind, kindServiceIntentions) {
		return nil, badRequest("config entry kind %q is not supported (roam serves %q)", e.Kind, kindServiceIntentions)
	}
	if e.Name == "" || len(e.Sources) > maxEntrySources {
		return nil, badRequest("a service-intentions entry needs a Name and at most %d Sources", maxEntrySources)
	}
	dst := intentions.Service{Namespace: firstNonEmpty(e.Namespace, intentions.DefaultNamespace), Name: e.Name}
	req := &structs.IntentionRequest{}
	for i, s := range e.Sources {
		b := intentionBody{SourceNS: s.Namespace, SourceName: s.Name, DestinationNS: dst.Namespace, DestinationName: dst.Name,
			Action: s.Action, Description: s.Description, Meta: s.LegacyMeta, Permissions: s.Permissions}
		in, err := b.intention()
		if err != nil {
			return nil, badRequest("Sources[%d]: %v", i, err)
		}
		req.Upsert = append(req.Upsert, in)
	}
	all, err := h.intentionList(w, r)
	if err != nil {
		return nil, err
	}
	for _, in := range all {
		if in.DestinationNS == dst.Namespace && in.DestinationName == dst.Name && !inSources(in, req.Upsert) {
			req.Delete = append(req.Delete, in.ID)
		}
	}
	out, err := h.intentionApply(r, req)
	if err != nil {
		return nil, err
	}
	setIndex(w, out.Index)
	return true, nil
}

func inSources(in *structs.Intention, ups []*structs.Intention) bool {
	for _, u := range ups {
		if firstNonEmpty(u.SourceNS, intentions.DefaultNamespace) == in.SourceNS && u.SourceName == in.SourceName {
			return true
		}
	}
	return false
}

// entries groups intentions by destination as config entries.
func entries(all []*structs.Intention) []*serviceIntentions {
	byDst := map[string]*serviceIntentions{}
	var order []string
	for _, in := range all {
		key := in.DestinationNS + "/" + in.DestinationName
		e := byDst[key]
		if e == nil {
			e = &serviceIntentions{Kind: kindServiceIntentions, Name: in.DestinationName, Namespace: in.DestinationNS}
			byDst[key] = e
			order = append(order, key)
		}
		e.Sources = append(e.Sources, &sourceIntention{Name: in.SourceName, Namespace: in.SourceNS, Action: string(in.Action),
			Precedence: in.Precedence, Type: "consul", Description: in.Description, LegacyID: in.ID, LegacyMeta: in.Meta})
		e.CreateIndex = minNonZero(e.CreateIndex, in.CreateIndex)
		e.ModifyIndex = max(e.ModifyIndex, in.ModifyIndex)
	}
	out := make([]*serviceIntentions, 0, len(order))
	for _, k := range order {
		out = append(out, byDst[k])
	}
	return out
}

func minNonZero(a, b uint64) uint64 {
	if a == 0 || b < a {
		return b
	}
	return a
}

func checkKind(r *http.Request) error {
	if k := r.PathValue("kind"); k != kindServiceIntentions {
		return &httpError{code: http.StatusNotFound, msg: fmt.Sprintf("config entry kind %q is not supported (roam serves %q)", k, kindServiceIntentions)}
	}
	return nil
}

// configList: GET /v1/config/service-intentions.
func (h *handlers) configList(w http.ResponseWriter, r *http.Request) (any, error) {
	if err := checkKind(r); err != nil {
		return nil, err
	}
	all, err := h.intentionList(w, r)
	if err != nil {
		return nil, err
	}
	return entries(all), nil
}

// configGet: GET /v1/config/service-intentions/:name.
func (h *handlers) configGet(w http.ResponseWriter, r *http.Request) (any, error) {
	if err := checkKind(r); err != nil {
		return nil, err
	}
	all, err := h.intentionList(w, r)
	if err != nil {
		return nil, err
	}
	ns := firstNonEmpty(r.URL.Query().Get("ns"), intentions.DefaultNamespace)
	for _, e := range entries(all) {
		if e.Name == r.PathValue("name") && e.Namespace == ns {
			return e, nil
		}
	}
	return nil, &httpError{code: http.StatusNotFound, msg: fmt.Sprintf("Config entry not found for %q / %q", kindServiceIntentions, r.PathValue("name"))}
}

// configDelete: DELETE /v1/config/service-intentions/:name drops the
// destination's intentions.
func (h *handlers) configDelete(w http.ResponseWriter, r *http.Request) (any, error) {
	if err := checkKind(r); err != nil {
		return nil, err
	}
	all, err := h.intentionList(w, r)
	if err != nil {
		return nil, err
	}
	ns := firstNonEmpty(r.URL.Query().Get("ns"), intentions.DefaultNamespace)
	req := &structs.IntentionRequest{}
	for _, in := range all {
		if in.DestinationName == r.PathValue("name") && in.DestinationNS == ns {
			req.Delete = append(req.Delete, in.ID)
		}
	}
	out, err := h.intentionApply(r, req)
	if err != nil {
		return nil, err
	}
	setIndex(w, out.Index)
	return true, nil
}
