package awslambda

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type ridKey struct{}

func withRID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ridKey{}, id)
}

// seen is what the echo handler observed, returned as its JSON body.
type seen struct {
	Method, Path, RawQuery, A, B, Host, Remote, XFF, Cookie, Body, RequestID, Auth, Trace string
	Deadline                                                                              bool
}

func echo() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rid, _ := r.Context().Value(ridKey{}).(string)
		_, dl := r.Context().Deadline()
		s := seen{
			Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
			A: r.URL.Query().Get("a"), B: r.URL.Query().Get("b"),
			Host: r.Host, Remote: r.RemoteAddr, XFF: r.Header.Get("X-Forwarded-For"),
			Cookie: r.Header.Get("Cookie"), Body: string(body), RequestID: rid,
			Auth: r.Header.Get("Authorization"), Trace: r.Header.Get("X-Amzn-Trace-Id"), Deadline: dl,
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Add("X-Multi", "m1")
		w.Header().Add("X-Multi", "m2")
		w.Header().Add("Set-Cookie", "s1=a")
		w.Header().Add("Set-Cookie", "s2=b")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(s)
	})
}

func lambdaCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: "aws-req-1"})
}

func event(t *testing.T, name string) json.RawMessage {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDetect(t *testing.T) {
	tests := []struct {
		payload string
		want    Kind
	}{
		{"function-url.json", KindFunctionURL},
		{"http-api.json", KindHTTPAPI},
		{"rest-api.json", KindREST},
		{"alb.json", KindALB},
		{"alb-single.json", KindALB},
	}
	for _, tt := range tests {
		if got := Detect(event(t, tt.payload)); got != tt.want {
			t.Errorf("Detect(%s) = %v, want %v", tt.payload, got, tt.want)
		}
	}
	for _, raw := range []string{`{}`, `not json`, `{"source":"aws.events"}`,
		`{"requestContext":{"routeKey":"$connect","eventType":"CONNECT","connectionId":"x"}}`} {
		if got := Detect([]byte(raw)); got != KindUnknown {
			t.Errorf("Detect(%s) = %v, want unknown", raw, got)
		}
	}
}

// The same request, arriving through every buffered trigger, must reach the
// handler identically and come back in that trigger's response format.
func TestBufferedRoundTrip(t *testing.T) {
	h := Handler(echo(), Options{WithRequestID: withRID})
	tests := []struct {
		file     string
		host     string
		rawQuery string
		b        string
	}{
		{"function-url.json", "abcdefg.lambda-url.eu-west-1.on.aws", "a=1&b=x%20y", "x y"},
		{"http-api.json", "api123.execute-api.eu-west-1.amazonaws.com", "a=1&b=x%20y", "x y"},
		{"rest-api.json", "rest123.execute-api.eu-west-1.amazonaws.com", "a=1&b=x+y", "x y"},
		{"alb.json", "gw-123.eu-west-1.elb.amazonaws.com", "a=1&b=x%20y", "x y"},
		{"alb-single.json", "gw-123.eu-west-1.elb.amazonaws.com", "a=1&b=x%20y", "x y"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			out, err := h(lambdaCtx(t), event(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			// Check the wire form Lambda receives, not our Go structs.
			wire, err := json.Marshal(out)
			if err != nil {
				t.Fatal(err)
			}
			var resp struct {
				StatusCode        int
				StatusDescription string
				Headers           map[string]string
				MultiValueHeaders map[string][]string
				Cookies           []string
				Body              string
				IsBase64Encoded   bool
			}
			if err := json.Unmarshal(wire, &resp); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 201 || resp.IsBase64Encoded {
				t.Fatalf("status %d base64 %v; wire %s", resp.StatusCode, resp.IsBase64Encoded, wire)
			}
			var s seen
			if err := json.Unmarshal([]byte(resp.Body), &s); err != nil {
				t.Fatalf("body %q: %v", resp.Body, err)
			}
			want := seen{Method: "POST", Path: "/v1/chat/completions", RawQuery: tt.rawQuery, A: "1", B: tt.b,
				Host: tt.host, Remote: "203.0.113.9", XFF: "198.51.100.7", Cookie: "c1=v1; c2=v2",
				Body: `{"model":"auto"}`, RequestID: "aws-req-1", Auth: "Bearer svc-key", Deadline: true}
			s.Trace = ""
			if s != want {
				t.Fatalf("handler saw\n%+v\nwant\n%+v", s, want)
			}
			switch tt.file {
			case "function-url.json", "http-api.json":
				if resp.Headers["X-Multi"] != "m1,m2" || strings.Join(resp.Cookies, "|") != "s1=a|s2=b" || resp.MultiValueHeaders != nil {
					t.Fatalf("v2 headers %v cookies %v multi %v", resp.Headers, resp.Cookies, resp.MultiValueHeaders)
				}
			case "rest-api.json", "alb.json":
				if strings.Join(resp.MultiValueHeaders["X-Multi"], "|") != "m1|m2" || len(resp.MultiValueHeaders["Set-Cookie"]) != 2 || len(resp.Headers) != 0 {
					t.Fatalf("multi-value headers %v headers %v", resp.MultiValueHeaders, resp.Headers)
				}
			case "alb-single.json":
				if resp.Headers["X-Multi"] != "m1,m2" || resp.MultiValueHeaders != nil {
					t.Fatalf("single-value ALB headers %v multi %v", resp.Headers, resp.MultiValueHeaders)
				}
			}
			if strings.HasPrefix(tt.file, "alb") && resp.StatusDescription != "201 Created" {
				t.Fatalf("ALB statusDescription %q", resp.StatusDescription)
			}
		})
	}
}

func TestBinaryAndEmptyBodies(t *testing.T) {
	png := []byte{0x89, 'P', 'N', 'G', 0, 1, 2, 0xff}
	tests := []struct {
		ctype  string
		body   []byte
		b64    bool
		status int
	}{
		{"image/png", png, true, 200},
		{"text/plain; charset=utf-8", []byte("héllo"), false, 200},
		{"text/plain", []byte{0xff, 0xfe}, true, 200}, // not UTF-8 whatever it claims
		{"application/problem+json", []byte(`{}`), false, 200},
		{"", nil, false, 204},
	}
	for _, tt := range tests {
		h := Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tt.ctype != "" {
				w.Header().Set("Content-Type", tt.ctype)
			}
			w.WriteHeader(tt.status)
			w.Write(tt.body)
		}), Options{})
		out, err := h(lambdaCtx(t), event(t, "http-api.json"))
		if err != nil {
			t.Fatal(err)
		}
		resp := out.(events.APIGatewayV2HTTPResponse)
		got := []byte(resp.Body)
		if resp.IsBase64Encoded {
			got, _ = base64.StdEncoding.DecodeString(resp.Body)
		}
		if resp.IsBase64Encoded != tt.b64 || !bytes.Equal(got, tt.body) || resp.StatusCode != tt.status {
			t.Errorf("%q: base64=%v body=%q status=%d", tt.ctype, resp.IsBase64Encoded, got, resp.StatusCode)
		}
	}
}

func TestBase64RequestBodyAndErrors(t *testing.T) {
	h := Handler(echo(), Options{})
	bad := strings.Replace(string(event(t, "function-url.json")), `"eyJtb2RlbCI6ImF1dG8ifQ=="`, `"%%%"`, 1)
	if _, err := h(lambdaCtx(t), json.RawMessage(bad)); err == nil {
		t.Fatal("bad base64 body accepted")
	}
	if _, err := h(lambdaCtx(t), json.RawMessage(`{"source":"aws.events"}`)); err != ErrUnsupportedEvent {
		t.Fatalf("err = %v, want ErrUnsupportedEvent", err)
	}
}

func TestStripStage(t *testing.T) {
	tests := []struct{ path, stage, want string }{
		{"/prod/v1/chat", "prod", "/v1/chat"},
		{"/prod", "prod", "/"},
		{"/production/x", "prod", "/production/x"},
		{"/v1/chat", "$default", "/v1/chat"},
		{"/v1/chat", "", "/v1/chat"},
	}
	for _, tt := range tests {
		if got := stripStage(tt.path, tt.stage); got != tt.want {
			t.Errorf("stripStage(%q, %q) = %q, want %q", tt.path, tt.stage, got, tt.want)
		}
	}
}

// REST's "path" is usually stage-free already; a route that starts with the
// stage's name must survive, and a path that does carry the stage loses it.
func TestRESTStageOnlyStrippedWhenPresent(t *testing.T) {
	var got string
	h := Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.URL.Path }), Options{})
	for _, tt := range []struct{ path, ctxPath, stage, want string }{
		{"/v1/models", "/v1/v1/models", "v1", "/v1/models"},
		{"/prod/v1/models", "/prod/v1/models", "prod", "/v1/models"},
		{"/v1/models", "/prod/v1/models", "prod", "/v1/models"},
	} {
		ev := events.APIGatewayProxyRequest{HTTPMethod: "GET", Path: tt.path,
			RequestContext: events.APIGatewayProxyRequestContext{Stage: tt.stage, Path: tt.ctxPath}}
		raw, _ := json.Marshal(ev)
		if _, err := h(lambdaCtx(t), raw); err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("path %q ctx %q stage %q: handler saw %q, want %q", tt.path, tt.ctxPath, tt.stage, got, tt.want)
		}
	}
}

func TestPanicRecoveredBuffered(t *testing.T) {
	h := Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }), Options{})
	out, err := h(lambdaCtx(t), event(t, "rest-api.json"))
	if err != nil {
		t.Fatal(err)
	}
	resp := out.(events.APIGatewayProxyResponse)
	if resp.StatusCode != 500 || !strings.Contains(resp.Body, `"internal error"`) || strings.Contains(resp.Body, "boom") {
		t.Fatalf("panic answer %d %q", resp.StatusCode, resp.Body)
	}
}

func TestOversizedBufferedAnswer(t *testing.T) {
	h := Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(bytes.Repeat([]byte("x"), maxBuffered+1))
	}), Options{})
	out, err := h(lambdaCtx(t), event(t, "http-api.json"))
	if err != nil {
		t.Fatal(err)
	}
	if resp := out.(events.APIGatewayV2HTTPResponse); resp.StatusCode != 502 || len(resp.Body) > 1000 {
		t.Fatalf("oversized answer: status %d, %d bytes", resp.StatusCode, len(resp.Body))
	}
}

// readStream splits a streamed answer into its prelude and body.
func readStream(t *testing.T, out any) (map[string]any, string) {
	t.Helper()
	r, ok := out.(*events.LambdaFunctionURLStreamingResponse)
	if !ok {
		t.Fatalf("got %T, want a streaming response", out)
	}
	all, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	prelude, body, ok := bytes.Cut(all, make([]byte, 8))
	if !ok {
		t.Fatalf("no 8-NUL separator in %q", all)
	}
	var p map[string]any
	if err := json.Unmarshal(prelude, &p); err != nil {
		t.Fatalf("prelude %q: %v", prelude, err)
	}
	return p, string(body)
}

func TestStreaming(t *testing.T) {
	h := Handler(echo(), Options{Stream: true, WithRequestID: withRID})
	out, err := h(lambdaCtx(t), event(t, "function-url.json"))
	if err != nil {
		t.Fatal(err)
	}
	p, body := readStream(t, out)
	if p["statusCode"] != 201.0 || p["headers"].(map[string]any)["X-Multi"] != "m1,m2" || len(p["cookies"].([]any)) != 2 {
		t.Fatalf("prelude %v", p)
	}
	var s seen
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatal(err)
	}
	if s.Remote != "203.0.113.9" || s.XFF != "198.51.100.7" || s.RequestID != "aws-req-1" || s.Cookie != "c1=v1; c2=v2" || s.Body != `{"model":"auto"}` || !s.Deadline {
		t.Fatalf("streamed handler saw %+v", s)
	}

	// API Gateway cannot read a stream: the same binary answers it buffered.
	out, err = h(lambdaCtx(t), event(t, "http-api.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := out.(events.APIGatewayV2HTTPResponse); !ok {
		t.Fatalf("HTTP API event in stream mode got %T, want buffered", out)
	}
}

func TestStreamingPanic(t *testing.T) {
	tests := []struct {
		name     string
		h        http.HandlerFunc
		status   float64
		wantBody string
	}{
		{"before headers", func(http.ResponseWriter, *http.Request) { panic("boom") }, 500, `"internal error"`},
		{"mid stream", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			w.Write([]byte("data: 1\n\n"))
			panic("boom")
		}, 200, "data: 1\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Handler(tt.h, Options{Stream: true})(lambdaCtx(t), event(t, "function-url.json"))
			if err != nil {
				t.Fatal(err)
			}
			p, body := readStream(t, out)
			if p["statusCode"] != tt.status || !strings.Contains(body, tt.wantBody) || strings.Contains(body, "boom") {
				t.Fatalf("prelude %v body %q", p, body)
			}
		})
	}
}

func TestDropPeerFromXFF(t *testing.T) {
	tests := []struct{ xff, peer, want string }{
		{"1.1.1.1, 2.2.2.2", "2.2.2.2", "1.1.1.1"},
		{"2.2.2.2", "2.2.2.2", ""},
		{"1.1.1.1, 3.3.3.3", "2.2.2.2", "1.1.1.1, 3.3.3.3"},
		{"", "2.2.2.2", ""},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.xff != "" {
			h.Set("X-Forwarded-For", tt.xff)
		}
		dropPeerFromXFF(h, tt.peer)
		if got := h.Get("X-Forwarded-For"); got != tt.want {
			t.Errorf("%q peer %q -> %q, want %q", tt.xff, tt.peer, got, tt.want)
		}
	}
}

func BenchmarkBufferedHTTPAPI(b *testing.B) {
	ev, _ := os.ReadFile("testdata/http-api.json")
	h := Handler(echo(), Options{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
}
