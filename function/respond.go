package function

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// writeJSON writes v as the whole response. Encoding errors can only come
// from a broken connection at this point, so they are ignored.
func writeJSON(w http.ResponseWriter, status int, v any) {
	buf, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		buf = []byte(`{"detail":"Internal Server Error"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(buf)+1))
	w.WriteHeader(status)
	buf = append(buf, '\n')
	_, _ = w.Write(buf)
}

// detail is the FastAPI-style error body every non-OpenAI route uses.
type detail struct {
	Detail    any    `json:"detail"`
	RequestID string `json:"request_id"`
}

func writeDetail(w http.ResponseWriter, r *http.Request, status int, msg any) {
	writeJSON(w, status, detail{Detail: msg, RequestID: requestID(r.Context())})
}
