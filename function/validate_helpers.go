package function

import (
	"github.com/go-playground/validator/v10"
	"reflect"
	"strings"
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
