package guard

import (
	"strings"
	"testing"
)

func TestRestorerAcrossChunks(t *testing.T) {
	ph := map[string]string{"[EMAIL_1]": "a@b.co", "[SSN_1]": "123-45-6789"}
	const answer = "Dear [EMAIL_1], your SSN [SSN_1] is on file. Arrays look like [1, 2] and [x]."
	want := Restore(answer, ph)
	for size := 1; size <= len(answer); size++ {
		r := NewRestorer(ph)
		var b strings.Builder
		for i := 0; i < len(answer); i += size {
			b.WriteString(r.Write(answer[i:min(len(answer), i+size)]))
		}
		b.WriteString(r.Flush())
		if b.String() != want {
			t.Fatalf("chunk size %d: %q, want %q", size, b.String(), want)
		}
	}
	if got := NewRestorer(nil).Write("[EMAIL_1"); got != "[EMAIL_1" {
		t.Errorf("without placeholders nothing is held back: %q", got)
	}
}
