package providers

import (
	"net/http"
	"testing"
	"time"
)

func TestNewHTTPClient(t *testing.T) {
	c := NewHTTPClient()
	if c.Timeout != 0 {
		t.Error("client Timeout would cap the context deadlines")
	}
	tr, ok := c.Transport.(*http.Transport)
	if !ok {
		t.Fatalf("transport %T", c.Transport)
	}
	if tr.TLSHandshakeTimeout == 0 || tr.ResponseHeaderTimeout == 0 || tr.MaxIdleConnsPerHost < 2 || tr.IdleConnTimeout == 0 || tr.Proxy == nil {
		t.Errorf("transport not tuned: %+v", tr)
	}
	if c.CheckRedirect == nil || c.CheckRedirect(nil, nil) != http.ErrUseLastResponse {
		t.Error("redirects must not be followed (they would resend the key)")
	}
	first, second := clientOrDefault(nil), clientOrDefault(nil)
	if first != second {
		t.Error("the default client should be shared")
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		h    map[string]string
		want time.Duration
	}{
		{map[string]string{}, 0},
		{map[string]string{"Retry-After": "3"}, 3 * time.Second},
		{map[string]string{"Retry-After": "0.25"}, 250 * time.Millisecond},
		{map[string]string{"Retry-After": "-1"}, 0},
		{map[string]string{"Retry-After": "soon"}, 0},
		{map[string]string{"Retry-After": "Fri, 27 Nov 2026 12:00:30 GMT"}, 30 * time.Second},
		{map[string]string{"Retry-After": "Fri, 27 Nov 2026 11:00:00 GMT"}, 0},
		{map[string]string{"Retry-After-Ms": "1500", "Retry-After": "9"}, 1500 * time.Millisecond},
	}
	for _, tc := range tests {
		h := http.Header{}
		for k, v := range tc.h {
			h.Set(k, v)
		}
		if got := retryAfter(h, now); got != tc.want {
			t.Errorf("retryAfter(%v) = %v, want %v", tc.h, got, tc.want)
		}
	}
}

func TestSafeCode(t *testing.T) {
	for in, want := range map[string]string{
		"RESOURCE_EXHAUSTED":              "RESOURCE_EXHAUSTED",
		"model_decommissioned":            "model_decommissioned",
		"has space":                       "",
		"quote\"":                         "",
		"sk-abc/../..":                    "",
		"":                                "",
		string(make([]byte, 65)):          "",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	} {
		if got := safeCode(in); got != want {
			t.Errorf("safeCode(%q) = %q, want %q", in, got, want)
		}
	}
}
