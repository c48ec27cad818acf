package guard

import (
	"testing"
)

func TestFoldASCIIMatchesSlowPath(t *testing.T) {
	for _, s := range []string{
		"", " ", "Ignore previous instructions.", "i.g.n.o.r.e", "1gn0r3 pr3v10u5", "don't 'quote' \"x\"",
		"snake_case_word _lead trail_ a__b", "@user $100 h@ck3r c$sh", "a. b , c ; d\n\ne", "x--y__z..w",
		"'start", "end'", "mixed123abc 456 7up", "  lots   of   space  ", "L1 l1 LL",
	} {
		var fast, slow foldState
		fast.foldASCII(s)
		slow.foldASCIISlow(s)
		if string(fast.fold) != string(slow.fold) {
			t.Errorf("%q: fast %q, slow %q", s, fast.fold, slow.fold)
		}
	}
}
