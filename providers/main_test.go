package providers

import (
	"testing"

	"go.uber.org/goleak"
)

// Every call must return its goroutines: a hung upstream or a canceled client
// must not leave a reader or an attempt behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
