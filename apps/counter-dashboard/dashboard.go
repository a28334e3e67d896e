package main

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
)

// dashboard serves the page and the count it shows.
type dashboard struct {
	serviceURL string
	client     *http.Client
}

// status is what the page shows: a count, or why there is none.
type status struct {
	Count   *int64 `json:"count,omitempty"`
	Error   string `json:"error,omitempty"`
	Service string `json:"service"`
}

func (d *dashboard) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", d.page)
	mux.HandleFunc("GET /api/count", d.apiCount)
	return mux
}

// fetch asks the counting service once.
func (d *dashboard) fetch() status {
	st := status{Service: d.serviceURL}
	resp, err := d.client.Get(d.serviceURL)
	if err != nil {
		st.Error = fmt.Sprintf("cannot reach the counting service at %s: %v", d.serviceURL, err)
		return st
	}
	defer resp.Body.Close()
	var body struct {
		Count int64 `json:"count"`
	}
	if resp.StatusCode != http.StatusOK {
		st.Error = fmt.Sprintf("cannot reach the counting service at %s: it answered %s", d.serviceURL, resp.Status)
		return st
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		st.Error = fmt.Sprintf("the counting service at %s answered something that is not a count: %v", d.serviceURL, err)
		return st
	}
	st.Count = &body.Count
	return st
}

func (d *dashboard) apiCount(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(d.fetch())
}

func (d *dashboard) page(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = pageTemplate.Execute(w, d.fetch())
}

// pageTemplate is the whole page: the first status rendered on the server
// (so it reads without scripts), then refreshed every second.
var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Counter dashboard</title>
<style>
 body { font-family: system-ui, sans-serif; margin: 3em auto; max-width: 40em; text-align: center; }
 #count { font-size: 5em; font-weight: bold; margin: .3em 0; }
 #error { color: #a00; font-size: 1.2em; }
 .muted { color: #666; }
</style>
</head>
<body>
<h1>Counter dashboard</h1>
<div id="count">{{with .Count}}{{.}}{{else}}&ndash;{{end}}</div>
<div id="error">{{.Error}}</div>
<p class="muted">Counting service: <code>{{.Service}}</code>. The count refreshes every second.</p>
<script>
async function refresh() {
  try {
    const r = await fetch("/api/count", {cache: "no-store"});
    const s = await r.json();
    document.getElementById("count").textContent = s.count !== undefined ? s.count : "\u2013";
    document.getElementById("error").textContent = s.error || "";
  } catch (e) {
    document.getElementById("error").textContent = "cannot reach the dashboard itself: " + e;
  }
}
setInterval(refresh, 1000);
</script>
</body>
</html>
`))
