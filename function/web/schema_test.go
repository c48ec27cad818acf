package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

const docURL = "mem:///openapi.json"

// compiler loads the document as one resource, so a schema anywhere in it is
// compiled by its JSON Pointer and its "#/components/..." references resolve
// the way an OpenAPI tool resolves them. Compiling also checks every schema
// against the JSON Schema 2020-12 meta-schema, the dialect OpenAPI 3.1 uses.
func compiler(t *testing.T) *jsonschema.Compiler {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(OpenAPI()))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(docURL, doc); err != nil {
		t.Fatal(err)
	}
	return c
}

// escape turns a map key into a JSON Pointer token (RFC 6901).
func escape(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1") }

func TestEverySchemaCompiles(t *testing.T) {
	c := compiler(t)
	doc := loadDoc(t)
	for name := range doc["components"].(map[string]any)["schemas"].(map[string]any) {
		if _, err := c.Compile(docURL + "#/components/schemas/" + escape(name)); err != nil {
			t.Errorf("schema %s: %v", name, err)
		}
	}
}

// Every example in the document is valid against the schema beside it, so
// the examples a reader copies are ones the gateway accepts or sends.
func TestExamplesMatchSchemas(t *testing.T) {
	c := compiler(t)
	doc := loadDoc(t)
	checked := 0
	check := func(at string, media map[string]any) {
		if _, ok := media["schema"]; !ok {
			return
		}
		sch, err := c.Compile(docURL + at + "/schema")
		if err != nil {
			t.Errorf("%s/schema: %v", at, err)
			return
		}
		examples, _ := media["examples"].(map[string]any)
		for name, ex := range examples {
			value := deref(t, doc, ex)["value"]
			// Round-trip through the library's decoder so numbers are json.Number.
			v, err := jsonschema.UnmarshalJSON(strings.NewReader(mustJSON(t, value)))
			if err != nil {
				t.Fatal(err)
			}
			if err := sch.Validate(v); err != nil {
				t.Errorf("%s example %q does not match its schema:\n%v", at, name, err)
			}
			checked++
		}
	}
	media := func(at string, content any) {
		m, _ := content.(map[string]any)
		for ctype, md := range m {
			if strings.HasSuffix(ctype, "json") {
				check(at+"/content/"+escape(ctype), md.(map[string]any))
			}
		}
	}
	for _, o := range operations(t, doc) {
		at := "#/paths/" + escape(o.route.Path) + "/" + strings.ToLower(o.route.Method)
		if rb, ok := o.op["requestBody"].(map[string]any); ok {
			media(at+"/requestBody", rb["content"])
		}
		for code, r := range o.op["responses"].(map[string]any) {
			if _, isRef := r.(map[string]any)["$ref"]; isRef {
				continue // checked once below, under components.responses
			}
			media(at+"/responses/"+code, r.(map[string]any)["content"])
		}
	}
	for name, r := range doc["components"].(map[string]any)["responses"].(map[string]any) {
		media("#/components/responses/"+escape(name), r.(map[string]any)["content"])
	}
	if checked < 30 {
		t.Errorf("checked only %d examples", checked)
	}
}

// The schemas encode SPEC.md's limits: a body the gateway must reject does
// not validate, and the boundary values it must accept do.
func TestSchemasEnforceSpecLimits(t *testing.T) {
	c := compiler(t)
	long := `"` + strings.Repeat("é", 4000) + `"`
	tooLong := `"` + strings.Repeat("é", 4001) + `"`
	prompts := func(n int) string { return `[` + strings.TrimSuffix(strings.Repeat(`"p",`, n), ",") + `]` }
	step := `{"provider":"gemini","model":"m","status":"failed","reason":"HTTP 503 from provider","latency_ms":1}`
	tests := []struct {
		schema string
		body   string
		valid  bool
	}{
		{"QueryRequest", `{"prompt":"hi"}`, true},
		{"QueryRequest", `{"prompt":` + long + `,"max_tokens":2048,"temperature":2.0}`, true},
		{"QueryRequest", `{"prompt":"hi","max_tokens":1,"temperature":0,"unknown":true}`, true},
		{"QueryRequest", `{"prompt":""}`, false},
		{"QueryRequest", `{"prompt":` + tooLong + `}`, false},
		{"QueryRequest", `{"max_tokens":10}`, false},
		{"QueryRequest", `{"prompt":"hi","max_tokens":0}`, false},
		{"QueryRequest", `{"prompt":"hi","max_tokens":2049}`, false},
		{"QueryRequest", `{"prompt":"hi","max_tokens":1.5}`, false},
		{"QueryRequest", `{"prompt":"hi","temperature":2.01}`, false},
		{"QueryRequest", `{"prompt":"hi","temperature":-0.1}`, false},
		{"QueryRequest", `{"prompt":7}`, false},
		{"CascadeStep", step, true},
		{"CascadeStep", `{"provider":"gemini","model":"m","status":"retrying","reason":null,"latency_ms":1}`, false},
		{"CascadeStep", `{"provider":"gemini","model":"m","status":"success","latency_ms":1}`, false},
		{"QueryFailure", `{"response":null,"provider":null,"status":"error","error":"Gateway timeout","detail":"Gateway timeout","cascade_path":[` + step + `],"request_id":"r"}`, true},
		{"QueryFailure", `{"response":"x","provider":null,"status":"error","error":"Gateway timeout","detail":"Gateway timeout","cascade_path":[],"request_id":"r"}`, false},
		{"ValidationErrorResponse", `{"detail":[{"type":"missing","loc":["body","prompt"],"msg":"Field required","input":{}}],"request_id":"r"}`, true},
		{"ValidationErrorResponse", `{"detail":"Invalid or missing API key","request_id":"r"}`, false},
		{"ValidationErrorResponse", `{"detail":[{"type":"no_such_error","loc":["body"],"msg":"x","input":1}],"request_id":"r"}`, false},
		{"BlockedResponse", `{"detail":"Request blocked by input guard","categories":["pii"],"pii_types":["ssn","iban"],"request_id":"r"}`, true},
		{"BlockedResponse", `{"detail":"Request blocked by input guard","categories":["pii"],"pii_types":["passport"],"request_id":"r"}`, false},
		{"BlockedResponse", `{"detail":"Request blocked by input guard","pii_types":[],"request_id":"r"}`, false},
		{"OpenAIError", `{"error":{"message":"m","type":"invalid_request_error","code":"invalid_api_key"}}`, true},
		{"OpenAIError", `{"error":"m"}`, false},
		{"BatchSecurityRequest", `{"prompts":` + prompts(20) + `}`, true},
		{"BatchSecurityRequest", `{"prompts":` + prompts(21) + `}`, false},
		{"BatchSecurityRequest", `{"prompts":[]}`, false},
		{"BatchResilienceRequest", `{"prompts":` + prompts(10) + `,"max_tokens":16,"temperature":0.1}`, true},
		{"BatchResilienceRequest", `{"prompts":` + prompts(11) + `}`, false},
		{"ProviderInfo", `{"name":"openrouter","model":"m:free","active":false,"base_url":"https://openrouter.ai/api/v1","pricing":null}`, true},
		{"ProviderInfo", `{"name":"openrouter","model":"m:free","active":false,"base_url":"not a url","pricing":null}`, false},
		{"ProviderInfo", `{"name":"groq","model":"m","active":true,"base_url":"https://api.groq.com/openai/v1"}`, false},
		{"MetricsResponse", `{"instance_id":"i","started_at":"2026-11-27T13:00:00Z","uptime_seconds":1,"requests_total":0,"requests_by_route":{},"responses_by_status":{},"blocked_total":0,"rate_limited_total":0,"auth_failures_total":0,"provider_requests":{"gemini":{"success":1,"failure":0}},"tokens":{"prompt":0,"completion":0},"cost_usd_total":0,"latency_ms":{"p50":0,"p95":0,"p99":0}}`, true},
		{"MetricsResponse", `{"instance_id":"i","started_at":"yesterday","uptime_seconds":1,"requests_total":0,"requests_by_route":{},"responses_by_status":{},"blocked_total":0,"rate_limited_total":0,"auth_failures_total":0,"provider_requests":{},"tokens":{"prompt":0,"completion":0},"cost_usd_total":0,"latency_ms":{"p50":0,"p95":0,"p99":0}}`, false},
		{"ToxicityResponse", `{"is_toxic":false,"scores":{},"blocked_categories":[],"error":"AI safety check is disabled"}`, true},
		{"ToxicityResponse", `{"is_toxic":false,"scores":{"hate":1.5},"blocked_categories":[],"error":null}`, false},
		{"ChatCompletionRequest", `{"model":"auto","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}`, true},
		{"ChatCompletionRequest", `{"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],"stop":["a","b"]}`, true},
		{"ChatCompletionRequest", `{"model":"auto","messages":[]}`, false},
		{"ChatCompletionRequest", `{"messages":[{"role":"user","content":"hi"}],"stop":["a","b","c","d","e"]}`, false},
		{"ChatCompletionChunk", `{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`, true},
		{"ChatCompletionChunk", `{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[]}`, false},
	}
	for _, tt := range tests {
		sch, err := c.Compile(docURL + "#/components/schemas/" + tt.schema)
		if err != nil {
			t.Fatalf("%s: %v", tt.schema, err)
		}
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(tt.body))
		if err != nil {
			t.Fatalf("bad test body %s: %v", tt.body, err)
		}
		err = sch.Validate(v)
		var ve *jsonschema.ValidationError
		if err != nil && !errors.As(err, &ve) {
			t.Fatalf("%s: %v", tt.schema, err)
		}
		if (err == nil) != tt.valid {
			body := tt.body
			if len(body) > 120 {
				body = body[:120] + "..."
			}
			t.Errorf("%s %s: valid=%v, want %v (%v)", tt.schema, body, err == nil, tt.valid, err)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
