package function

import (
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
