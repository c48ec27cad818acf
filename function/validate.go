package function

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/go-playground/validator/v10"
)

// FieldError is one entry of a 422 "detail" list, in the shape FastAPI /
// Pydantic v2 produce, so clients of the original service keep working.
type FieldError struct {
	Type  string         `json:"type"`
	Loc   []any          `json:"loc"`
	Msg   string         `json:"msg"`
	Input any            `json:"input"`
	Ctx   map[string]any `json:"ctx,omitempty"`
}

// QueryRequest is the validated body of POST /query.
type QueryRequest struct {
	Prompt      string  `json:"prompt" validate:"min=1,max=4000"`
	MaxTokens   int     `json:"max_tokens" validate:"min=1,max=2048"`
	Temperature float64 `json:"temperature" validate:"min=0,max=2"`
}

// BatchSecurityRequest is the body of POST /batch/security.
type BatchSecurityRequest struct {
	Prompts []string `json:"prompts" validate:"min=1,max=20,dive,max=4000"`
}

// BatchResilienceRequest is the body of POST /batch/resilience.
type BatchResilienceRequest struct {
	Prompts     []string `json:"prompts" validate:"min=1,max=10,dive,min=1,max=4000"`
	MaxTokens   int      `json:"max_tokens" validate:"min=1,max=2048"`
	Temperature float64  `json:"temperature" validate:"min=0,max=2"`
}

// ToxicityRequest is the body of POST /check-toxicity.
type ToxicityRequest struct {
	Text string `json:"text" validate:"min=1,max=4000"`
}

var (
	validateOnce sync.Once
	validate     *validator.Validate
)

// validatorInstance is built once per cold start: the validator caches struct
// metadata and is safe for concurrent use.
func validatorInstance() *validator.Validate {
	validateOnce.Do(func() {
		validate = validator.New(validator.WithRequiredStructEnabled())
		validate.RegisterTagNameFunc(func(f reflectStructField) string {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			return name
		})
	})
	return validate
}

// body is a decoded JSON object whose values are checked field by field, so
// that one request reports every failing field at once.
type body struct {
	fields map[string]json.RawMessage
	errs   []FieldError
}

// parseBody decodes a JSON object. It returns a json_invalid or
// model_attributes_type error list when the body is not one.
func parseBody(data []byte) (*body, []FieldError) {
	var fields map[string]json.RawMessage
	err := json.Unmarshal(data, &fields)
	if err == nil && fields != nil {
		return &body{fields: fields}, nil
	}
	var te *json.UnmarshalTypeError
	if err == nil || errors.As(err, &te) {
		// Valid JSON, but not an object (null, a list, a string...).
		var whole any
		_ = json.Unmarshal(data, &whole)
		if _, isString := whole.(string); isString {
			whole = nil // a bare string body is likely a prompt: not echoed
		}
		return nil, []FieldError{{Type: "model_attributes_type", Loc: []any{"body"},
			Msg: "Input should be a valid dictionary or object to extract fields from", Input: whole}}
	}
	pos := 0
	var se *json.SyntaxError
	if errors.As(err, &se) {
		pos = int(se.Offset)
	}
	errText := "Expecting value"
	if len(bytes.TrimSpace(data)) > 0 {
		errText = sanitizeJSONError(err)
	}
	return nil, []FieldError{{Type: "json_invalid", Loc: []any{"body", pos}, Msg: "JSON decode error",
		Input: map[string]any{}, Ctx: map[string]any{"error": errText}}}
}

func (b *body) raw(name string) (json.RawMessage, bool) {
	v, ok := b.fields[name]
	return v, ok
}

func (b *body) add(typ, field, msg string, input any, ctx map[string]any) {
	b.errs = append(b.errs, FieldError{Type: typ, Loc: []any{"body", field}, Msg: msg, Input: input, Ctx: ctx})
}

func decodeAny(raw json.RawMessage) any {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	_ = dec.Decode(&v)
	return v
}

// str reads a required string field.
func (b *body) str(name string, required bool) (string, bool) {
	raw, ok := b.raw(name)
	if !ok {
		if required {
			b.add("missing", name, "Field required", nil, nil)
		}
		return "", false
	}
	s, ok := jsonString(raw)
	if !ok {
		b.add("string_type", name, "Input should be a valid string", decodeAny(raw), nil)
		return "", false
	}
	return s, true
}

// integer reads an optional integer field with Pydantic's lax rules: whole
// floats and numeric strings are accepted.
func (b *body) integer(name string, def int) int {
	raw, ok := b.raw(name)
	if !ok {
		return def
	}
	v := decodeAny(raw)
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil && i >= math.MinInt32 && i <= math.MaxInt32 {
			return int(i)
		}
		if f, err := strconv.ParseFloat(string(x), 64); err == nil {
			if f == math.Trunc(f) && math.Abs(f) < 1e15 {
				return int(f)
			}
			if math.IsInf(f, 0) || math.Abs(f) >= 1e15 {
				b.add("int_parsing_size", name, "Unable to parse input string as an integer, exceeded maximum size", x, nil)
				return def
			}
			b.add("int_from_float", name, "Input should be a valid integer, got a number with a fractional part", x, nil)
			return def
		}
		b.add("int_parsing_size", name, "Unable to parse input string as an integer, exceeded maximum size", x, nil)
		return def
	case string:
		if i, err := strconv.Atoi(strings.TrimSpace(x)); err == nil {
			return i
		}
		b.add("int_parsing", name, "Input should be a valid integer, unable to parse string as an integer", x, nil)
		return def
	case bool:
		if x {
			return 1
		}
		return 0
	}
	b.add("int_type", name, "Input should be a valid integer", v, nil)
	return def
}

// number reads an optional float field with Pydantic's lax rules.
func (b *body) number(name string, def float64) float64 {
	raw, ok := b.raw(name)
	if !ok {
		return def
	}
	v := decodeAny(raw)
	switch x := v.(type) {
	case json.Number:
		if f, err := strconv.ParseFloat(string(x), 64); err == nil && !math.IsInf(f, 0) {
			return f
		}
		b.add("finite_number", name, "Input should be a finite number", x, nil)
		return def
	case string:
		if f, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			return f
		}
		b.add("float_parsing", name, "Input should be a valid number, unable to parse string as a number", x, nil)
		return def
	case bool:
		if x {
			return 1
		}
		return 0
	}
	b.add("float_type", name, "Input should be a valid number", v, nil)
	return def
}

// strList reads a required list of strings.
func (b *body) strList(name string) []string {
	raw, ok := b.raw(name)
	if !ok {
		b.add("missing", name, "Field required", nil, nil)
		return nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		b.add("list_type", name, "Input should be a valid list", decodeAny(raw), nil)
		return nil
	}
	out := make([]string, 0, len(items))
	for i, it := range items {
		var s string
		if err := json.Unmarshal(it, &s); err != nil {
			b.errs = append(b.errs, FieldError{Type: "string_type", Loc: []any{"body", name, i}, Msg: "Input should be a valid string", Input: decodeAny(it)})
			continue
		}
		out = append(out, s)
	}
	return out
}

// checkStruct runs go-playground/validator over v and turns its failures into
// Pydantic-shaped errors. Fields that already failed their type check are
// skipped: Pydantic reports one error per field.
func (b *body) checkStruct(v any, order ...string) {
	defer b.sortErrors(order)
	failed := map[string]bool{}
	for _, e := range b.errs {
		if len(e.Loc) > 1 {
			failed[fmt.Sprint(e.Loc[1])] = true
		}
	}
	err := validatorInstance().Struct(v)
	verrs, ok := err.(validator.ValidationErrors)
	if !ok {
		return
	}
	// Decoded only on failure: the happy path never re-reads the prompt.
	inputs := b.inputs(order...)
	for _, fe := range verrs {
		ns := strings.SplitN(fe.Namespace(), ".", 2) // "QueryRequest.prompt" or "X.prompts[3]"
		field := ns[len(ns)-1]
		loc := []any{"body"}
		name, idx, isElem := strings.Cut(field, "[")
		if failed[name] {
			continue
		}
		loc = append(loc, name)
		input := inputs[name]
		if isElem {
			i, _ := strconv.Atoi(strings.TrimSuffix(idx, "]"))
			loc = append(loc, i)
			input = fe.Value()
		}
		b.errs = append(b.errs, pydanticError(fe, loc, input))
	}
}

func pydanticError(fe validator.FieldError, loc []any, input any) FieldError {
	param := fe.Param()
	kind := fe.Kind().String()
	pn, _ := strconv.ParseFloat(param, 64)
	var num any = pn
	if pn == math.Trunc(pn) {
		num = int(pn)
	}
	e := FieldError{Loc: loc, Input: input}
	switch {
	case kind == "string" && fe.Tag() == "min":
		e.Type, e.Ctx = "string_too_short", map[string]any{"min_length": num}
		e.Msg = fmt.Sprintf("String should have at least %s character%s", param, plural(param))
	case kind == "string" && fe.Tag() == "max":
		// Pydantic echoes the input; an over-long prompt is not sent back.
		e.Input = nil
		e.Type, e.Ctx = "string_too_long", map[string]any{"max_length": num}
		e.Msg = fmt.Sprintf("String should have at most %s character%s", param, plural(param))
	case kind == "slice" && fe.Tag() == "min":
		e.Type, e.Ctx = "too_short", map[string]any{"field_type": "List", "min_length": num, "actual_length": reflectLen(input)}
		e.Msg = fmt.Sprintf("List should have at least %s item%s after validation, not %d", param, plural(param), reflectLen(input))
	case kind == "slice" && fe.Tag() == "max":
		e.Type, e.Ctx = "too_long", map[string]any{"field_type": "List", "max_length": num, "actual_length": reflectLen(input)}
		e.Msg = fmt.Sprintf("List should have at most %s item%s after validation, not %d", param, plural(param), reflectLen(input))
	case fe.Tag() == "min":
		e.Type, e.Ctx = "greater_than_equal", map[string]any{"ge": num}
		e.Msg = "Input should be greater than or equal to " + param
	case fe.Tag() == "max":
		e.Type, e.Ctx = "less_than_equal", map[string]any{"le": num}
		e.Msg = "Input should be less than or equal to " + param
	default:
		e.Type, e.Msg = "value_error", "Value error, "+fe.Tag()
	}
	return e
}

func plural(n string) string {
	if n == "1" {
		return ""
	}
	return "s"
}

// inputs decodes the named fields as sent, for the "input" of constraint
// errors.
func (b *body) inputs(names ...string) map[string]any {
	m := make(map[string]any, len(names))
	for _, n := range names {
		if raw, ok := b.fields[n]; ok {
			m[n] = decodeAny(raw)
		}
	}
	return m
}

// sortErrors orders errors by the model's field order, as Pydantic does.
func (b *body) sortErrors(order []string) {
	rank := func(e FieldError) int {
		if len(e.Loc) > 1 {
			if i := slices.Index(order, fmt.Sprint(e.Loc[1])); i >= 0 {
				return i
			}
		}
		return len(order)
	}
	slices.SortStableFunc(b.errs, func(x, y FieldError) int { return rank(x) - rank(y) })
}
