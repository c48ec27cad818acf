package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"sync"
	"time"
)

// ContentSecurityPolicy returns the policy to serve page with: its own inline
// <script> and <style> blocks are allowed by hash, fetches may go to the same
// origin only, and everything else (other scripts, frames, form posts, plugins)
// is refused. Hashes instead of 'unsafe-inline' mean an injected script, were
// one ever to get in, would not run.
func ContentSecurityPolicy(page []byte) string {
	scripts := inlineHashes(page, "script")
	styles := inlineHashes(page, "style")
	var b strings.Builder
	b.WriteString("default-src 'none'")
	if len(scripts) > 0 {
		b.WriteString("; script-src " + strings.Join(scripts, " "))
	}
	if len(styles) > 0 {
		b.WriteString("; style-src " + strings.Join(styles, " "))
	}
	b.WriteString("; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	return b.String()
}

// inlineHashes returns the CSP hash source of every <tag>...</tag> block in
// page. Our pages open these tags without attributes; a tag with attributes
// (e.g. <script src=...>) is not inline content and gets no hash.
func inlineHashes(page []byte, tag string) []string {
	open, closing := []byte("<"+tag+">"), []byte("</"+tag+">")
	var out []string
	for {
		i := bytes.Index(page, open)
		if i < 0 {
			return out
		}
		page = page[i+len(open):]
		j := bytes.Index(page, closing)
		if j < 0 {
			return out
		}
		sum := sha256.Sum256(page[:j])
		out = append(out, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
		page = page[j+len(closing):]
	}
}

type asset struct {
	body        []byte
	contentType string
	csp         string
	etag        string
}

// assets are built once per instance from the immutable embedded files.
var assets = sync.OnceValue(func() map[string]*asset {
	mk := func(body, contentType string) *asset {
		a := &asset{body: []byte(body), contentType: contentType}
		sum := sha256.Sum256(a.body)
		a.etag = `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
		if strings.HasPrefix(contentType, "text/html") {
			a.csp = ContentSecurityPolicy(a.body)
		} else {
			a.csp = "default-src 'none'; frame-ancestors 'none'"
		}
		return a
	}
	return map[string]*asset{
		"dashboard": mk(dashboard, "text/html; charset=utf-8"),
		"docs":      mk(docs, "text/html; charset=utf-8"),
		"openapi":   mk(openapi, "application/json"),
	}
})

// DashboardHandler serves the dashboard page with its Content-Security-Policy
// and the usual hardening headers; see assetHandler.
func DashboardHandler() http.Handler { return assetHandler("dashboard") }

// DocsHandler serves the API docs page; see DashboardHandler.
func DocsHandler() http.Handler { return assetHandler("docs") }

// OpenAPIHandler serves the OpenAPI document.
func OpenAPIHandler() http.Handler { return assetHandler("openapi") }

// assetHandler answers GET and HEAD with the asset, revalidated by ETag (the
// content changes only with a deploy, so "no-cache" plus a 304 is cheap and
// never serves a stale page after one). Routing, other methods and the
// X-Request-Id header are the caller's: the core's mux owns them.
func assetHandler(name string) http.Handler {
	a := assets()[name]
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", a.contentType)
		h.Set("Content-Security-Policy", a.csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", a.etag)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
	})
}
