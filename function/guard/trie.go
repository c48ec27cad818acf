package guard

import (
	"fmt"
	"strings"
)

// wordTrie maps a folded word to the groups it belongs to. Transitions are a
// dense table over byte classes (only bytes that occur in the vocabulary get
// a class), so a lookup costs one table read per byte and a word that leaves
// the vocabulary stops at its first unknown byte.
type wordTrie struct {
	class   [256]uint8
	nclass  int
	next    []uint16 // node*nclass + class → child node, 0 = none
	exact   []uint64 // groups of the word ending at node
	prefix  []uint64 // groups of every word starting with node's path
	rotFlag []bool   // node's exact word exists only as a ROT13 form
	real    []bool
}

func newWordTrie() *wordTrie {
	t := &wordTrie{nclass: 1}
	return t
}

// classes assigns byte classes before insertion; the table width must be
// known up front.
func (t *wordTrie) classes(words []string) {
	for _, w := range words {
		for i := 0; i < len(w); i++ {
			if t.class[w[i]] == 0 {
				t.class[w[i]] = uint8(t.nclass)
				t.nclass++
			}
		}
	}
	t.next = make([]uint16, t.nclass) // root
	t.exact = []uint64{0}
	t.prefix = []uint64{0}
	t.rotFlag = []bool{false}
	t.real = []bool{false}
}

func (t *wordTrie) insert(w string, groups uint64, rot bool) {
	pre := strings.HasSuffix(w, "*")
	w = strings.TrimSuffix(w, "*")
	n := int32(0)
	for i := 0; i < len(w); i++ {
		c := int32(t.class[w[i]])
		idx := n*int32(t.nclass) + c
		if t.next[idx] == 0 {
			t.next[idx] = uint16(len(t.exact))
			t.next = append(t.next, make([]uint16, t.nclass)...)
			t.exact = append(t.exact, 0)
			t.prefix = append(t.prefix, 0)
			t.rotFlag = append(t.rotFlag, false)
			t.real = append(t.real, false)
		}
		n = int32(t.next[idx])
	}
	if pre {
		t.prefix[n] |= groups
	} else {
		t.exact[n] |= groups
		if rot {
			t.rotFlag[n] = !t.real[n]
		} else {
			t.real[n], t.rotFlag[n] = true, false
		}
	}
}

// lookup returns the groups of word w and whether the match was a ROT13 form.
func (t *wordTrie) lookup(w []byte) (uint64, bool) {
	n := int32(0)
	var pre uint64
	nc := int32(t.nclass)
	for _, b := range w {
		c := t.class[b]
		if c == 0 {
			return pre, false
		}
		n = int32(t.next[n*nc+int32(c)])
		if n == 0 {
			return pre, false
		}
		pre |= t.prefix[n]
	}
	return pre | t.exact[n], t.rotFlag[n]
}

func rot13(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z':
			b[i] = 'a' + (c-'a'+13)%26
		case c >= 'A' && c <= 'Z':
			b[i] = 'A' + (c-'A'+13)%26
		}
	}
	return string(b)
}

// foldWord folds one vocabulary word exactly as text is folded; a word that
// folds into several words is a mistake in the vocabulary.
func foldWord(f *foldState, w string, ft foldTable) (string, error) {
	star := strings.HasSuffix(w, "*")
	f.normalize(strings.TrimSuffix(w, "*"), ft)
	out := strings.TrimSpace(string(f.fold))
	if out == "" || strings.ContainsAny(out, " .\"") {
		return "", fmt.Errorf("guard: vocabulary word %q folds to %q", w, out)
	}
	if star {
		out += "*"
	}
	return out, nil
}

func buildTrie(ft foldTable) (*wordTrie, error) {
	type item struct {
		w      string
		groups uint64
		rot    bool
	}
	var items []item
	var f foldState
	for _, e := range vocabulary {
		for _, w := range e.words {
			fw, err := foldWord(&f, w, ft)
			if err != nil {
				return nil, err
			}
			items = append(items, item{fw, e.groups, false})
			if e.groups&rot13Groups != 0 && len(w) >= 3 && isASCIIWord(w) {
				rw, err := foldWord(&f, rot13(w), ft)
				if err != nil {
					return nil, err
				}
				items = append(items, item{rw, e.groups & rot13Groups, true})
			}
		}
	}
	t := newWordTrie()
	words := make([]string, len(items))
	for i, it := range items {
		words[i] = it.w
	}
	t.classes(words)
	for _, it := range items {
		t.insert(it.w, it.groups, it.rot)
		if len(t.exact) >= 1<<16 {
			return nil, fmt.Errorf("guard: vocabulary too large for the trie (%d nodes)", len(t.exact))
		}
	}
	return t, nil
}

func isASCIIWord(w string) bool {
	for i := 0; i < len(w); i++ {
		if w[i] < 'a' || w[i] > 'z' {
			return false
		}
	}
	return true
}

// Typoglycemia: "ignroe all prevoius insturctions" stays readable to a model
// because the first and last letters are in place. typoIndex finds such
// words by a signature that ignores the order of the inner letters.
type typoIndex struct {
	// maybe[first letter][length] says whether any key word could match,
	// so most words cost two array reads.
	maybe [26][16]uint32    // bit (last letter - 'a')
	words map[uint64]uint64 // signature → groups
}

// typoGroups are the roles worth recognising scrambled: the words an
// attack cannot do without.
const typoGroups = gOverride | gInstr | gPrior | gPrompt | gReveal | gSecretAdj | gRestr | gPersona

// letterWeight gives each letter a random 64-bit weight; the sum over the
// inner letters is the same for every order of them.
var letterWeight = func() (w [26]uint64) {
	x := uint64(0x9E3779B97F4A7C15)
	for i := range w {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		w[i] = x
	}
	return w
}()

func typoSignature(w []byte) (uint64, bool) {
	if len(w) < 5 || len(w) > 15 {
		return 0, false
	}
	var sum uint64
	for _, c := range w[1 : len(w)-1] {
		if c < 'a' || c > 'z' {
			return 0, false
		}
		sum += letterWeight[c-'a']
	}
	f, l := w[0], w[len(w)-1]
	if f < 'a' || f > 'z' || l < 'a' || l > 'z' {
		return 0, false
	}
	return sum*31 + uint64(f)<<8 + uint64(l) + uint64(len(w))<<56, true
}

func buildTypoIndex(ft foldTable) typoIndex {
	idx := typoIndex{words: map[uint64]uint64{}}
	var f foldState
	for _, e := range vocabulary {
		if e.groups&typoGroups == 0 {
			continue
		}
		for _, w := range e.words {
			fw, err := foldWord(&f, w, ft)
			if err != nil || !isASCIIWord(fw) {
				continue
			}
			sig, ok := typoSignature([]byte(fw))
			if !ok {
				continue
			}
			idx.words[sig] |= e.groups & typoGroups
			idx.maybe[fw[0]-'a'][len(fw)] |= 1 << (fw[len(fw)-1] - 'a')
		}
	}
	return idx
}

func (x *typoIndex) lookup(w []byte) uint64 {
	if len(w) < 5 || len(w) > 15 || w[0] < 'a' || w[0] > 'z' {
		return 0
	}
	if l := w[len(w)-1]; l < 'a' || l > 'z' || x.maybe[w[0]-'a'][len(w)]&(1<<(l-'a')) == 0 {
		return 0
	}
	sig, ok := typoSignature(w)
	if !ok {
		return 0
	}
	return x.words[sig]
}
