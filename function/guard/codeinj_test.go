package guard

import (
	"math/rand/v2"
	"testing"
)

// TestWordCandidate: the first-letter/length filter in front of the switch
// lets every command and keyword through and nothing else.
func TestWordCandidate(t *testing.T) {
	want := map[string]int{
		"nc": candShell, "sh": candShell, "bash": candShell, "ncat": candShell, "python": candShell,
		"netcat": candShell, "mkfifo": candShell, "powershell": candShell,
		"union": candSQL, "waitfor": candSQL,
		"or": candTautology, "and": candTautology,
	}
	for w, c := range want {
		if got := wordCandidate(w); got != c {
			t.Errorf("wordCandidate(%q) = %d, want %d", w, got, c)
		}
	}
	rng := rand.New(rand.NewPCG(12, 13))
	for range 50000 {
		b := make([]byte, 1+rng.IntN(16))
		for k := range b {
			b[k] = "abcdefhikmnoprstuwy"[rng.IntN(19)]
		}
		if got := wordCandidate(string(b)); got != want[string(b)] {
			t.Fatalf("wordCandidate(%q) = %d, want %d", b, got, want[string(b)])
		}
	}
	for _, w := range []string{"", "n", "ncc", "orr", "an", "unions", "pythons", "bas"} {
		if got := wordCandidate(w); got != candNone {
			t.Errorf("wordCandidate(%q) = %d, want none", w, got)
		}
	}
}
