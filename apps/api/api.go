package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// api answers every request with what payments answered.
type api struct {
	upstream string
	client   *http.Client
}

// reply is the api's answer.
type reply struct {
	Payments string `json:"payments,omitempty"`
	Error    string `json:"error,omitempty"`
	Upstream string `json:"upstream"`
}

// maxPaymentsBody bounds what is read of payments' answer.
const maxPaymentsBody = 64 << 10

func (a *api) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.serve)
	return mux
}

func (a *api) serve(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	r, code := a.ask()
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(r)
}

// ask asks payments once.
func (a *api) ask() (reply, int) {
	r := reply{Upstream: a.upstream}
	resp, err := a.client.Get(a.upstream)
	if err != nil {
		r.Error = fmt.Sprintf("cannot reach payments at %s: %v", a.upstream, err)
		return r, http.StatusBadGateway
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPaymentsBody))
	if err != nil {
		r.Error = fmt.Sprintf("reading payments' answer from %s: %v", a.upstream, err)
		return r, http.StatusBadGateway
	}
	if resp.StatusCode != http.StatusOK {
		r.Error = fmt.Sprintf("payments at %s answered %s", a.upstream, resp.Status)
		return r, http.StatusBadGateway
	}
	r.Payments = string(body)
	return r, http.StatusOK
}
