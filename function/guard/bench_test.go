package guard

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// benchPrompt builds a realistic 4,000-character prompt: prose, a code
// snippet, numbers, a date, a version, punctuation; nothing to block.
func benchPrompt(extra string) string {
	const para = "I am migrating our billing service from Python 3.11 to Go 1.26 and I would like a review of the plan. " +
		"The current system reads invoices from a queue, validates the totals, converts currencies with the rates " +
		"published at 10:30 UTC, and writes the results to PostgreSQL. Last quarter we processed 1,245,310 invoices " +
		"with a p99 latency of 84 ms; the previous release (v2.3.1) had a memory leak that we fixed by closing the " +
		"response bodies. Here is the handler:\n\n    func handle(w http.ResponseWriter, r *http.Request) {\n" +
		"        defer r.Body.Close()\n        if err := decode(r.Body, &inv); err != nil { http.Error(w, err.Error(), 400); return }\n    }\n\n" +
		"Please explain which parts should change, whether the error handling is idiomatic, and how to test it " +
		"with httptest. Keep the answer short and list the risks first; ignore the formatting of the snippet. "
	var b strings.Builder
	b.WriteString(extra)
	for utf8.RuneCountInString(b.String()) < 4000 {
		b.WriteString(para)
	}
	s := b.String()
	return s[:4000]
}

func benchScan(b *testing.B, prompt string) {
	g, err := New(DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	g.Scan(prompt) // warm the pool
	b.SetBytes(int64(len(prompt)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		g.Scan(prompt)
	}
}

// BenchmarkScan4000 is SPEC.md's budget: a 4,000-character prompt with
// every detector on.
func BenchmarkScan4000(b *testing.B) { benchScan(b, benchPrompt("")) }

// BenchmarkScan4000PII adds an email, a phone number and a card, so the
// validators (Luhn, libphonenumber) run too.
func BenchmarkScan4000PII(b *testing.B) {
	benchScan(b, benchPrompt("Reach me at ana.perez@example.com or +1 415 555 2671; card 4111 1111 1111 1111. "))
}

// BenchmarkScan4000Unicode: non-ASCII text takes the NFKC/confusables path.
func BenchmarkScan4000Unicode(b *testing.B) {
	benchScan(b, benchPrompt("Résumé: naïve café — «Привет», 你好, ＦＵＬＬ width. "))
}

func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(DefaultConfig()); err != nil {
			b.Fatal(err)
		}
	}
}

// Component benchmarks: where the time of BenchmarkScan4000 goes.
func BenchmarkFold4000(b *testing.B) {
	g := newGuard(b, nil)
	p := benchPrompt("")
	var f foldState
	b.ReportAllocs()
	for b.Loop() {
		f.normalize(p, &g.ft)
	}
}

func BenchmarkRaw4000(b *testing.B) {
	p := benchPrompt("")
	var st rawState
	b.ReportAllocs()
	for b.Loop() {
		scanRaw(p, &st)
	}
}

func BenchmarkInjection4000(b *testing.B) {
	g := newGuard(b, nil)
	p := benchPrompt("")
	sc := new(scratch)
	scanRaw(p, &sc.raw)
	b.ReportAllocs()
	for b.Loop() {
		g.injectionScore(p, sc, 0)
	}
}

// BenchmarkWords4000 is the word lookup alone, on text folded once.
func BenchmarkWords4000(b *testing.B) {
	g := newGuard(b, nil)
	var f foldState
	f.normalize(benchPrompt(""), &g.ft)
	var st injState
	b.ReportAllocs()
	for b.Loop() {
		g.scanWords(f.fold, f.spans, &st)
	}
}

// BenchmarkRules4000 is the rule matching alone, on the words' hits.
func BenchmarkRules4000(b *testing.B) {
	g := newGuard(b, nil)
	var f foldState
	f.normalize(benchPrompt(""), &g.ft)
	var st injState
	g.scanWords(f.fold, f.spans, &st)
	b.ReportAllocs()
	for b.Loop() {
		matchRules(&st)
	}
}
