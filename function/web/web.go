// Package web holds the gateway's browser-facing assets: the dashboard at /,
// the API docs page at /docs and the OpenAPI 3.1 document at /openapi.json.
//
// The files are embedded so the serverless binary needs nothing on disk, and
// they are self-contained: no CDN, no build step, and never a key. The pages
// keep their script and style inline, so serve them with the policy from
// ContentSecurityPolicy (or through the handlers in serve.go), which allows
// exactly those inline blocks and nothing else.
package web

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
)

var (
	//go:embed dashboard.html
	dashboard string
	//go:embed docs.html
	docs string
	//go:embed openapi.json
	openapi string
)

// Dashboard returns the page served at GET /. It returns a fresh copy on every
// call, so a caller on a hot path should keep the result.
func Dashboard() []byte { return []byte(dashboard) }

// Docs returns the page served at GET /docs (a fresh copy on every call).
func Docs() []byte { return []byte(docs) }

// OpenAPI returns the OpenAPI 3.1 document served at GET /openapi.json (a
// fresh copy on every call).
func OpenAPI() []byte { return []byte(openapi) }

// Route is one operation of the OpenAPI document.
type Route struct {
	Method string // upper case, e.g. "POST"
	Path   string // e.g. "/query"
}

// String formats r the way net/http.ServeMux patterns read: "POST /query".
func (r Route) String() string { return r.Method + " " + r.Path }

// httpMethods are the operation keys a Path Item may hold (OpenAPI 3.1 §4.8.9);
// every other key (summary, parameters, servers, $ref, x-...) is not a route.
var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// Parsed once per instance: the document is immutable, so this is a cold-start
// cache, not shared mutable state.
var parsedRoutes = sync.OnceValues(func() ([]Route, error) { return parseRoutes([]byte(openapi)) })

// Paths returns every operation in the embedded OpenAPI document, sorted by
// path then method, so the core's tests can check the document against the
// routes it really serves. This package's tests prove the embedded document
// parses; were it ever unreadable, Paths returns nil, which such a comparison
// reports as every route undocumented.
func Paths() []Route {
	routes, err := parsedRoutes()
	if err != nil {
		return nil
	}
	return slices.Clone(routes)
}

func parseRoutes(doc []byte) ([]Route, error) {
	var d struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("web: parse OpenAPI document: %w", err)
	}
	var routes []Route
	for path, item := range d.Paths {
		for key := range item {
			if slices.Contains(httpMethods, key) {
				routes = append(routes, Route{Method: strings.ToUpper(key), Path: path})
			}
		}
	}
	slices.SortFunc(routes, func(a, b Route) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Method, b.Method)
	})
	return routes, nil
}
