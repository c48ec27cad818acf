// Command bootstrap is a test bootstrap: the adapter around a small handler,
// so the adapter's process-level behaviour (Runtime API, streaming, panics)
// is tested without the gateway core.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/llm-secure-gateway/gateway/adapters/awslambda"
)

type ridKey struct{}

func main() {
	gate := os.Getenv("GATE_URL")
	mux := http.NewServeMux()
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		for i := range 3 {
			// The test opens the gate for chunk i only once chunk i-1 reached
			// the Runtime API, which a buffered answer never would.
			if i > 0 && gate != "" {
				resp, err := http.Get(fmt.Sprintf("%s/%d", gate, i))
				if err != nil || resp.StatusCode != http.StatusOK {
					fmt.Fprintf(w, "data: gate %d closed\n\n", i)
					return
				}
				resp.Body.Close()
			}
			fmt.Fprintf(w, "data: %d\n\n", i)
			http.NewResponseController(w).Flush() //nolint:errcheck // lambdaurl's writer streams without Flush
		}
	})
	mux.HandleFunc("/panic", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("after") != "" {
			w.Write([]byte("data: partial\n\n"))
		}
		panic("handler bug")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rid, _ := r.Context().Value(ridKey{}).(string)
		_, dl := r.Context().Deadline()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Add("Set-Cookie", "a=1")
		w.Header().Add("Set-Cookie", "b=2")
		json.NewEncoder(w).Encode(map[string]any{
			"method": r.Method, "path": r.URL.Path, "query": r.URL.RawQuery, "remote": r.RemoteAddr,
			"xff": r.Header.Get("X-Forwarded-For"), "body": string(body), "request_id": rid, "deadline": dl,
		})
	})
	awslambda.Start(mux, os.Getenv, awslambda.Options{
		WithRequestID: func(ctx context.Context, id string) context.Context { return context.WithValue(ctx, ridKey{}, id) },
	})
}
