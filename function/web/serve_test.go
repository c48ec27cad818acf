package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// rawBlocks returns the text of every <tag> element, found by a real HTML
// tokenizer rather than the byte scan the code under test uses.
func rawBlocks(t *testing.T, page []byte, tag string) []string {
	t.Helper()
	z := html.NewTokenizer(bytes.NewReader(page))
	var out []string
	in := false
	for {
		switch z.Next() {
		case html.ErrorToken:
			return out
		case html.StartTagToken:
			name, _ := z.TagName()
			in = string(name) == tag
			if in {
				out = append(out, "")
			}
		case html.TextToken:
			if in {
				out[len(out)-1] += string(z.Text())
			}
		case html.EndTagToken:
			in = false
		}
	}
}

func TestContentSecurityPolicy(t *testing.T) {
	for name, page := range map[string][]byte{"dashboard": Dashboard(), "docs": Docs()} {
		t.Run(name, func(t *testing.T) {
			csp := ContentSecurityPolicy(page)
			directives := map[string]string{}
			for _, d := range strings.Split(csp, ";") {
				k, v, _ := strings.Cut(strings.TrimSpace(d), " ")
				directives[k] = v
			}
			for _, tag := range []string{"script", "style"} {
				blocks := rawBlocks(t, page, tag)
				if len(blocks) == 0 {
					t.Fatalf("no <%s> block", tag)
				}
				var want []string
				for _, b := range blocks {
					sum := sha256.Sum256([]byte(b))
					want = append(want, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
				}
				if got := directives[tag+"-src"]; got != strings.Join(want, " ") {
					t.Errorf("%s-src = %q, want %q", tag, got, strings.Join(want, " "))
				}
			}
			for k, want := range map[string]string{
				"default-src": "'none'", "connect-src": "'self'", "frame-ancestors": "'none'",
				"base-uri": "'none'", "form-action": "'none'",
			} {
				if directives[k] != want {
					t.Errorf("%s = %q, want %q", k, directives[k], want)
				}
			}
			if strings.Contains(csp, "unsafe") {
				t.Errorf("policy allows unsafe sources: %s", csp)
			}
		})
	}
}

func TestInlineHashes(t *testing.T) {
	sum := func(s string) string {
		h := sha256.Sum256([]byte(s))
		return "'sha256-" + base64.StdEncoding.EncodeToString(h[:]) + "'"
	}
	tests := []struct {
		name string
		page string
		want []string
	}{
		{"two blocks", "<script>a()</script><p>x</p><script>\nb()\n</script>", []string{sum("a()"), sum("\nb()\n")}},
		{"external script is not inline", `<script src="x.js"></script>`, nil},
		{"unterminated", "<script>a()", nil},
		{"none", "<p>hi</p>", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := inlineHashes([]byte(tt.page), "script")
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestHandlers(t *testing.T) {
	tests := []struct {
		name        string
		h           http.Handler
		body        []byte
		contentType string
		scriptCSP   bool
	}{
		{"dashboard", DashboardHandler(), Dashboard(), "text/html; charset=utf-8", true},
		{"docs", DocsHandler(), Docs(), "text/html; charset=utf-8", true},
		{"openapi", OpenAPIHandler(), OpenAPI(), "application/json", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.h)
			defer srv.Close()

			res, err := http.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK || !bytes.Equal(got, tt.body) {
				t.Fatalf("GET: status %d, %d bytes; want 200 and the embedded %d bytes", res.StatusCode, len(got), len(tt.body))
			}
			for k, want := range map[string]string{
				"Content-Type": tt.contentType, "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
				"Referrer-Policy": "no-referrer", "Cache-Control": "no-cache",
			} {
				if v := res.Header.Get(k); v != want {
					t.Errorf("%s = %q, want %q", k, v, want)
				}
			}
			csp := res.Header.Get("Content-Security-Policy")
			if !strings.HasPrefix(csp, "default-src 'none'") || strings.Contains(csp, "script-src 'sha256-") != tt.scriptCSP {
				t.Errorf("Content-Security-Policy = %q", csp)
			}
			if tt.scriptCSP && csp != ContentSecurityPolicy(tt.body) {
				t.Errorf("served policy differs from ContentSecurityPolicy(page)")
			}
			etag := res.Header.Get("ETag")
			if len(etag) < 10 || etag[0] != '"' {
				t.Fatalf("ETag = %q", etag)
			}

			req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
			req.Header.Set("If-None-Match", etag)
			res, err = http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ = io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusNotModified || len(got) != 0 {
				t.Errorf("revalidation: status %d with %d bytes, want 304 and none", res.StatusCode, len(got))
			}

			res, err = http.Head(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK || res.ContentLength != int64(len(tt.body)) {
				t.Errorf("HEAD: status %d, length %d", res.StatusCode, res.ContentLength)
			}
		})
	}
}

// The served document is the embedded one and parses, so /docs can render it.
func TestOpenAPIHandlerServesParsableDocument(t *testing.T) {
	rec := httptest.NewRecorder()
	OpenAPIHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/openapi.json", nil))
	var doc struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") || len(doc.Paths) != 12 {
		t.Errorf("openapi %q with %d paths", doc.OpenAPI, len(doc.Paths))
	}
}

func BenchmarkDashboardHandler(b *testing.B) {
	h := DashboardHandler()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
	}
}

func BenchmarkPaths(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = Paths()
	}
}
