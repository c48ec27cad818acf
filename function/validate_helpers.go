package function

import (
	"encoding/json"
	"github.com/go-playground/validator/v10"
	"reflect"
	"strings"
	"unicode/utf8"
)

type reflectStructField = reflect.StructField

func reflectLen(v any) int {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Slice {
		return rv.Len()
	}
	return 0
}

// sanitizeJSONError keeps the decoder's reason but not the bytes it quotes,
// so a prompt never comes back in an error body.
func sanitizeJSONError(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "invalid character"); i >= 0 {
		return "Invalid character"
	}
	switch {
	case strings.Contains(msg, "unexpected EOF"):
		return "Unexpected end of input"
	}
	return "Invalid JSON"
}

type validatorErrors = validator.ValidationErrors

// describe words a validator failure for an OpenAI-style message.
func describe(fe validator.FieldError) string {
	switch fe.Tag() {
	case "min":
		if fe.Kind() == reflect.Slice || fe.Kind() == reflect.String {
			return "expected at least " + fe.Param() + " items/characters"
		}
		return "expected a value >= " + fe.Param()
	case "max":
		if fe.Kind() == reflect.Slice || fe.Kind() == reflect.String {
			return "expected at most " + fe.Param() + " items/characters"
		}
		return "expected a value <= " + fe.Param()
	case "oneof":
		return "expected one of " + strings.ReplaceAll(fe.Param(), " ", ", ")
	}
	return "invalid value"
}

// jsonString decodes a JSON string literal. Most prompts hold no escapes, and
// for those the bytes between the quotes are the string: no second pass of
// the decoder. Anything else goes through encoding/json.
func jsonString(raw []byte) (string, bool) {
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' {
		inner := raw[1 : len(raw)-1]
		plain := utf8.Valid(inner)
		for _, c := range inner {
			if c == '\\' || c == '"' || c < 0x20 {
				plain = false
				break
			}
		}
		if plain {
			return string(inner), true
		}
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}
