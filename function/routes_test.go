package function

import (
	"slices"
	"strings"
	"testing"

	"github.com/llm-secure-gateway/gateway/function/web"
)

// TestOpenAPIMatchesRoutes keeps /openapi.json and the served routes in step:
// every route is documented and every documented operation is served.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	tg := newTestGateway(t, nil)
	var served, documented []string
	for _, r := range tg.gw.Routes() {
		served = append(served, strings.ToUpper(r.Method)+" "+r.Path)
	}
	for _, r := range web.Paths() {
		documented = append(documented, r.Method+" "+r.Path)
	}
	slices.Sort(served)
	slices.Sort(documented)
	for _, s := range served {
		if !slices.Contains(documented, s) {
			t.Errorf("served but not in openapi.json: %s", s)
		}
	}
	for _, d := range documented {
		if !slices.Contains(served, d) {
			t.Errorf("in openapi.json but not served: %s", d)
		}
	}
}
