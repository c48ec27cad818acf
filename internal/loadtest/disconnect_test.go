package loadtest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// A client that hangs up mid-request cancels the gateway's upstream call at
// once: the hung provider sees its request end long before any timeout.
func TestClientDisconnectCancelsUpstreamThroughGateway(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	hung := NewUpstream(Mix{Hang: 1})
	defer hung.Close()
	gw, err := NewGateway(t.Context(), GatewayEnv(hung.URL, hung.URL, hung.URL, map[string]string{
		"PROVIDER_ORDER": "groq", "PROVIDER_TIMEOUT": "20s", "REQUEST_TIMEOUT": "30s"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	defer srv.Close()
	client := NewClient(1)
	defer client.CloseIdleConnections()

	for _, path := range []string{"/query", "/v1/chat/completions"} {
		body := QueryBody
		if path != "/query" {
			body = ChatBody
		}
		before := hung.Calls()
		ctx, cancel := context.WithCancel(t.Context())
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+path, bytes.NewReader(body))
		req.Header = AuthHeader()
		done := make(chan error, 1)
		go func() {
			resp, err := client.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			done <- err
		}()
		waitFor(t, func() bool { return hung.Calls() > before && hung.Active() == 1 }, "upstream call to start")
		start := time.Now()
		cancel()
		if err := <-done; err == nil {
			t.Fatalf("%s: got an answer from a hung provider", path)
		}
		waitFor(t, func() bool { return hung.Active() == 0 }, "upstream call to be canceled")
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s: upstream call ended %v after the client left", path, d)
		}
	}
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}
