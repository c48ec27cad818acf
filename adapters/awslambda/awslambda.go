// Package awslambda serves an http.Handler from AWS Lambda: Function URLs
// (buffered or response streaming), API Gateway HTTP APIs (payload v2), REST
// APIs (v1) and ALB target groups, told apart from the event payload so one
// bootstrap serves every trigger. It only translates; all policy is the
// handler's.
package awslambda

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-lambda-go/lambdaurl"
)

// InvokeModeStream is the LAMBDA_INVOKE_MODE value that turns on response
// streaming; template.yaml sets it beside the Function URL's InvokeMode.
const InvokeModeStream = "RESPONSE_STREAM"

// maxBuffered keeps a buffered answer under Lambda's 6 MB invoke response
// limit (less room for the JSON envelope): above it the Runtime API refuses
// the response and aws-lambda-go ends the process.
const maxBuffered = 6*1024*1024 - 64*1024

// ErrUnsupportedEvent means the payload is not an HTTP event this adapter
// knows (a direct invoke, a schedule, a WebSocket event).
var ErrUnsupportedEvent = errors.New("unsupported Lambda event: want Function URL, API Gateway v1/v2 or ALB")

// Kind is the trigger an event came from.
type Kind int

const (
	KindUnknown     Kind = iota
	KindFunctionURL      // Lambda Function URL (payload v2 shape)
	KindHTTPAPI          // API Gateway HTTP API, payload format 2.0
	KindREST             // API Gateway REST API (or HTTP API payload 1.0)
	KindALB              // Application Load Balancer target group
)

func (k Kind) String() string {
	return [...]string{"unknown", "function-url", "http-api", "rest-api", "alb"}[k]
}

// Options configure the adapter.
type Options struct {
	// Stream answers Function URL events in Lambda's response-streaming mode.
	// Other triggers stay buffered: API Gateway and ALB cannot read a stream.
	Stream bool
	// WithRequestID, if set, carries Lambda's request id into the request
	// context so the handler logs it instead of generating one.
	WithRequestID func(ctx context.Context, id string) context.Context
	// Logger receives adapter-level failures (a recovered panic); default slog.Default().
	Logger *slog.Logger
}

// probe holds just enough of any event to tell the triggers apart.
type probe struct {
	Version        string `json:"version"`
	HTTPMethod     string `json:"httpMethod"`
	RequestContext struct {
		ELB *struct {
			TargetGroupArn string `json:"targetGroupArn"`
		} `json:"elb"`
		HTTP *struct {
			Method string `json:"method"`
		} `json:"http"`
		DomainName string `json:"domainName"`
	} `json:"requestContext"`
}

// Detect tells the trigger from the raw event payload.
func Detect(payload []byte) Kind {
	var p probe
	if err := json.Unmarshal(payload, &p); err != nil {
		return KindUnknown
	}
	switch {
	case p.RequestContext.ELB != nil:
		return KindALB
	case p.Version == "2.0" && p.RequestContext.HTTP != nil:
		// Both share one payload shape; only the URL's domain differs.
		if strings.Contains(p.RequestContext.DomainName, ".lambda-url.") {
			return KindFunctionURL
		}
		return KindHTTPAPI
	case p.HTTPMethod != "":
		return KindREST
	}
	return KindUnknown
}

// Start runs the Lambda loop for h, streaming Function URL answers when
// getenv("LAMBDA_INVOKE_MODE") is RESPONSE_STREAM. It does not return.
func Start(h http.Handler, getenv func(string) string, opts Options) {
	opts.Stream = strings.EqualFold(getenv("LAMBDA_INVOKE_MODE"), InvokeModeStream)
	lambda.Start(Handler(h, opts))
}

// Handler returns the function given to lambda.Start. Its result is a JSON
// response object for buffered answers, or an
// *events.LambdaFunctionURLStreamingResponse, which aws-lambda-go sends as a
// stream.
func Handler(h http.Handler, opts Options) func(context.Context, json.RawMessage) (any, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	wrapped := middleware(h, opts)
	stream := lambdaurl.Wrap(wrapped)
	return func(ctx context.Context, payload json.RawMessage) (any, error) {
		kind := Detect(payload)
		switch kind {
		case KindFunctionURL:
			var ev events.LambdaFunctionURLRequest
			if err := json.Unmarshal(payload, &ev); err != nil {
				return nil, fmt.Errorf("decode %s event: %w", kind, err)
			}
			if opts.Stream {
				return stream(ctx, &ev)
			}
			rc := ev.RequestContext
			r, err := requestV2(ctx, v2{rc.HTTP.Method, rc.DomainName, ev.RawPath, ev.RawQueryString, "",
				ev.Headers, ev.Cookies, ev.Body, ev.IsBase64Encoded, rc.HTTP.SourceIP})
			if err != nil {
				return nil, err
			}
			return responseV2(serve(wrapped, r)), nil
		case KindHTTPAPI:
			var ev events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(payload, &ev); err != nil {
				return nil, fmt.Errorf("decode %s event: %w", kind, err)
			}
			rc := ev.RequestContext
			r, err := requestV2(ctx, v2{rc.HTTP.Method, rc.DomainName, ev.RawPath, ev.RawQueryString, rc.Stage,
				ev.Headers, ev.Cookies, ev.Body, ev.IsBase64Encoded, rc.HTTP.SourceIP})
			if err != nil {
				return nil, err
			}
			return responseV2(serve(wrapped, r)), nil
		case KindREST:
			var ev events.APIGatewayProxyRequest
			if err := json.Unmarshal(payload, &ev); err != nil {
				return nil, fmt.Errorf("decode %s event: %w", kind, err)
			}
			r, err := requestV1(ctx, &ev)
			if err != nil {
				return nil, err
			}
			return responseV1(serve(wrapped, r)), nil
		case KindALB:
			var ev events.ALBTargetGroupRequest
			if err := json.Unmarshal(payload, &ev); err != nil {
				return nil, fmt.Errorf("decode %s event: %w", kind, err)
			}
			r, err := requestALB(ctx, &ev)
			if err != nil {
				return nil, err
			}
			return responseALB(serve(wrapped, r), ev.MultiValueHeaders != nil), nil
		}
		return nil, ErrUnsupportedEvent
	}
}

// middleware does what every trigger needs, streaming included: Lambda's
// request id, the cookies lambdaurl leaves out, a proxy entry that only
// repeats the peer, and a recover, because a panic under lambdaurl kills the
// process mid-stream.
func middleware(h http.Handler, opts Options) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if lc, ok := lambdacontext.FromContext(ctx); ok && opts.WithRequestID != nil && lc.AwsRequestID != "" {
			ctx = opts.WithRequestID(ctx, lc.AwsRequestID)
		}
		if ev, ok := lambdaurl.RequestFromContext(ctx); ok && len(ev.Cookies) > 0 && r.Header.Get("Cookie") == "" {
			r.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
		}
		dropPeerFromXFF(r.Header, r.RemoteAddr)
		r = r.WithContext(ctx)
		tw := &trackingWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					return
				}
				opts.Logger.ErrorContext(ctx, "panic in handler", "panic", fmt.Sprint(v))
				if !tw.wrote {
					writeJSONError(tw, http.StatusInternalServerError, "internal error")
				}
			}
		}()
		h.ServeHTTP(tw, r)
	})
}

// trackingWriter records whether the status line has gone out.
type trackingWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *trackingWriter) WriteHeader(code int) {
	if code >= 200 {
		w.wrote = true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *trackingWriter) Write(p []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the platform writer.
func (w *trackingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func writeJSONError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": msg, "code": code}})
	w.Write(b) //nolint:errcheck // nothing left to tell the client
}

// dropPeerFromXFF removes the rightmost X-Forwarded-For entry when it is the
// peer address itself (API Gateway, Function URLs and ALB all append it), so
// the handler's TRUSTED_PROXY_HOPS counts only proxies before the platform.
func dropPeerFromXFF(h http.Header, peer string) {
	xff := h.Values("X-Forwarded-For")
	if len(xff) == 0 || peer == "" {
		return
	}
	entries := splitXFF(xff)
	if len(entries) == 0 || entries[len(entries)-1] != peer {
		return
	}
	entries = entries[:len(entries)-1]
	if len(entries) == 0 {
		h.Del("X-Forwarded-For")
		return
	}
	h.Set("X-Forwarded-For", strings.Join(entries, ", "))
}

func splitXFF(values []string) []string {
	var out []string
	for _, v := range values {
		for e := range strings.SplitSeq(v, ",") {
			if e = strings.TrimSpace(e); e != "" {
				out = append(out, e)
			}
		}
	}
	return out
}

func decodeBody(body string, b64 bool) ([]byte, error) {
	if !b64 {
		return []byte(body), nil
	}
	b, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return nil, fmt.Errorf("decode base64 body: %w", err)
	}
	return b, nil
}

// newRequest builds a server-side request as net/http would have parsed it.
func newRequest(ctx context.Context, method, host, rawPath, path, rawQuery string, body []byte) (*http.Request, error) {
	u := &url.URL{Scheme: "https", Host: host, RawQuery: rawQuery}
	if rawPath != "" {
		p, err := url.PathUnescape(rawPath)
		if err != nil {
			return nil, fmt.Errorf("bad path: %w", err)
		}
		u.Path, u.RawPath = p, rawPath
		if u.EscapedPath() != rawPath {
			u.RawPath = ""
		}
	} else {
		u.Path = path
	}
	if u.Path == "" {
		u.Path = "/"
	}
	r, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	r.RequestURI = u.RequestURI()
	r.Host = host
	r.ContentLength = int64(len(body))
	if len(body) == 0 {
		r.Body = http.NoBody
	}
	return r, nil
}

// stripStage removes a named stage that API Gateway leaves in front of the
// route ("/prod/v1/chat" -> "/v1/chat"). "$default" is no prefix.
func stripStage(path, stage string) string {
	if stage == "" || stage == "$default" {
		return path
	}
	prefix := "/" + stage
	if path == prefix {
		return "/"
	}
	if rest, ok := strings.CutPrefix(path, prefix+"/"); ok {
		return "/" + rest
	}
	return path
}

// v2 is what Function URL and HTTP API (payload 2.0) events share.
type v2 struct {
	method, domain, rawPath, rawQuery, stage string
	headers                                  map[string]string
	cookies                                  []string
	body                                     string
	b64                                      bool
	sourceIP                                 string
}

func requestV2(ctx context.Context, ev v2) (*http.Request, error) {
	body, err := decodeBody(ev.body, ev.b64)
	if err != nil {
		return nil, err
	}
	host := ev.domain
	if h := ev.headers["host"]; h != "" {
		host = h
	}
	r, err := newRequest(ctx, ev.method, host, stripStage(ev.rawPath, ev.stage), "", ev.rawQuery, body)
	if err != nil {
		return nil, err
	}
	for k, v := range ev.headers {
		r.Header.Set(k, v)
	}
	if len(ev.cookies) > 0 {
		r.Header.Set("Cookie", strings.Join(ev.cookies, "; "))
	}
	r.RemoteAddr = ev.sourceIP
	return r, nil
}

func requestV1(ctx context.Context, ev *events.APIGatewayProxyRequest) (*http.Request, error) {
	body, err := decodeBody(ev.Body, ev.IsBase64Encoded)
	if err != nil {
		return nil, err
	}
	path := ev.Path
	// REST's "path" normally excludes the stage and requestContext.path
	// includes it; strip only when the stage really is in "path", so a route
	// that happens to start with the stage's name ("/v1/..." on stage "v1")
	// survives.
	if rc := ev.RequestContext.Path; rc == "" || rc != "/"+ev.RequestContext.Stage+path {
		path = stripStage(path, ev.RequestContext.Stage)
	}
	query := url.Values{}
	if ev.MultiValueQueryStringParameters != nil {
		for k, vs := range ev.MultiValueQueryStringParameters {
			query[k] = append(query[k], vs...)
		}
	} else {
		for k, v := range ev.QueryStringParameters {
			query.Set(k, v)
		}
	}
	host := ev.RequestContext.DomainName
	r, err := newRequest(ctx, ev.HTTPMethod, host, "", path, query.Encode(), body)
	if err != nil {
		return nil, err
	}
	copyHeaders(r, ev.Headers, ev.MultiValueHeaders)
	if h := r.Header.Get("Host"); h != "" {
		r.Host = h
	}
	r.RemoteAddr = ev.RequestContext.Identity.SourceIP
	return r, nil
}

func requestALB(ctx context.Context, ev *events.ALBTargetGroupRequest) (*http.Request, error) {
	body, err := decodeBody(ev.Body, ev.IsBase64Encoded)
	if err != nil {
		return nil, err
	}
	// ALB passes query parameters as the client sent them (still
	// percent-encoded), unlike API Gateway, so they are joined, not encoded.
	var pairs []string
	if ev.MultiValueQueryStringParameters != nil {
		for k, vs := range ev.MultiValueQueryStringParameters {
			for _, v := range vs {
				pairs = append(pairs, k+"="+v)
			}
		}
	} else {
		for k, v := range ev.QueryStringParameters {
			pairs = append(pairs, k+"="+v)
		}
	}
	slices.Sort(pairs)
	r, err := newRequest(ctx, ev.HTTPMethod, "", ev.Path, "", strings.Join(pairs, "&"), body)
	if err != nil {
		return nil, err
	}
	copyHeaders(r, ev.Headers, ev.MultiValueHeaders)
	r.Host = r.Header.Get("Host")
	r.URL.Host = r.Host
	// ALB appends the address it accepted the connection from.
	if xff := splitXFF(r.Header.Values("X-Forwarded-For")); len(xff) > 0 {
		r.RemoteAddr = xff[len(xff)-1]
	}
	return r, nil
}

func copyHeaders(r *http.Request, single map[string]string, multi map[string][]string) {
	if multi != nil {
		for k, vs := range multi {
			for _, v := range vs {
				r.Header.Add(k, v)
			}
		}
		return
	}
	for k, v := range single {
		r.Header.Set(k, v)
	}
}

// recorder buffers a whole answer for the buffered triggers.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *recorder) Header() http.Header { return w.header }

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
}

func (w *recorder) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}

// serve runs h to completion and returns its buffered answer.
func serve(h http.Handler, r *http.Request) *recorder {
	w := &recorder{header: http.Header{}}
	h.ServeHTTP(w, r)
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.body.Len() > maxBuffered {
		w.header = http.Header{}
		w.status = 0
		w.body.Reset()
		writeJSONError(w, http.StatusBadGateway, "response too large for a buffered Lambda answer")
	}
	return w
}

// encodedBody returns the body as Lambda wants it: text as is, anything
// else base64.
func (w *recorder) encodedBody() (string, bool) {
	b := w.body.Bytes()
	if len(b) == 0 {
		return "", false
	}
	if isText(w.header.Get("Content-Type")) && utf8.Valid(b) {
		return string(b), false
	}
	return base64.StdEncoding.EncodeToString(b), true
}

func isText(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"),
		mt == "application/json", mt == "application/xml", mt == "application/javascript",
		mt == "application/x-ndjson", mt == "application/x-www-form-urlencoded":
		return true
	}
	return false
}

// joined flattens headers for triggers that take one value per name;
// Set-Cookie is returned apart because commas cannot join cookies.
func (w *recorder) joined() (map[string]string, []string) {
	out := make(map[string]string, len(w.header))
	for k, vs := range w.header {
		if k == "Set-Cookie" {
			continue
		}
		out[k] = strings.Join(vs, ",")
	}
	return out, w.header.Values("Set-Cookie")
}

func responseV2(w *recorder) events.APIGatewayV2HTTPResponse {
	headers, cookies := w.joined()
	body, b64 := w.encodedBody()
	return events.APIGatewayV2HTTPResponse{StatusCode: w.status, Headers: headers, Cookies: cookies, Body: body, IsBase64Encoded: b64}
}

func responseV1(w *recorder) events.APIGatewayProxyResponse {
	body, b64 := w.encodedBody()
	return events.APIGatewayProxyResponse{StatusCode: w.status, MultiValueHeaders: map[string][]string(w.header.Clone()), Body: body, IsBase64Encoded: b64}
}

func responseALB(w *recorder, multi bool) events.ALBTargetGroupResponse {
	body, b64 := w.encodedBody()
	resp := events.ALBTargetGroupResponse{
		StatusCode:        w.status,
		StatusDescription: strconv.Itoa(w.status) + " " + http.StatusText(w.status),
		Body:              body,
		IsBase64Encoded:   b64,
	}
	// ALB reads exactly one of the two maps, the one its target group's
	// multi-value setting selects, and the event shows which.
	if multi {
		resp.MultiValueHeaders = map[string][]string(w.header.Clone())
		return resp
	}
	headers, cookies := w.joined()
	if len(cookies) > 0 {
		headers["Set-Cookie"] = cookies[len(cookies)-1]
	}
	resp.Headers = headers
	return resp
}

// Handler relies on aws-lambda-go streaming a result that is an io.Reader
// and refuses to marshal as JSON.
var _ io.Reader = (*events.LambdaFunctionURLStreamingResponse)(nil)
