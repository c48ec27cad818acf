package guard

import (
	"os"
	"strings"
	"testing"
)

func TestZZDebug(t *testing.T) {
	in := os.Getenv("GUARD_DEBUG")
	if in == "" {
		t.Skip()
	}
	g, _ := New(DefaultConfig())
	for _, s := range strings.Split(in, "\n|\n") {
		sc := new(scratch)
		scanRaw(s, &sc.raw)
		score := g.injectionScore(s, sc, 0)
		t.Logf("%q score=%.3f fold=%q", s, score, sc.fold.fold)
		t.Logf("   signals=%v", sc.inj.signal)
		for _, h := range sc.inj.hits {
			t.Logf("   hit pos=%d sent=%d groups=%x clause=%v q=%v obf=%v", h.pos, h.sentence, h.groups, h.clause, h.quoted, h.obf)
		}
	}
}
