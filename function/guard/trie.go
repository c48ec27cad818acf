package guard

import (
	"encoding/binary"
	"fmt"
	"slices"
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
	hash    wordHash
	// shortStems: some stem is no longer than shortWord, so a short
	// word's groups are not its node's alone
	shortStems bool
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
	// Size the tables once: the node count of a trie is the number of
	// distinct non-empty prefixes, Σ len(w) − lcp(w, previous) over the
	// sorted words. Growing by append copied megabytes at cold start.
	sorted := make([]string, len(words))
	for i, w := range words {
		sorted[i] = strings.TrimSuffix(w, "*")
	}
	slices.Sort(sorted)
	nodes, prev := 1, ""
	for _, w := range sorted {
		l := 0
		for l < len(w) && l < len(prev) && w[l] == prev[l] {
			l++
		}
		nodes += len(w) - l
		prev = w
	}
	t.next = make([]uint16, t.nclass, nodes*t.nclass) // root
	t.exact = append(make([]uint64, 0, nodes), 0)
	t.prefix = append(make([]uint64, 0, nodes), 0)
	t.rotFlag = append(make([]bool, 0, nodes), false)
	t.real = append(make([]bool, 0, nodes), false)
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
		t.shortStems = t.shortStems || len(w) <= shortWord
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
		n = int32(t.next[n*nc+int32(c)] & nodeMask)
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
		if len(t.exact) > int(nodeMask) {
			return nil, fmt.Errorf("guard: vocabulary too large for the trie (%d nodes)", len(t.exact))
		}
	}
	t.mark()
	t.buildHash(words)
	return t, nil
}

// Child indexes carry a mark bit when the child ends a word or a stem, so
// the scanner's hot loop reads exact/prefix only at those nodes.
const (
	nodeMark uint16 = 1 << 15
	nodeMask uint16 = nodeMark - 1
)

func (t *wordTrie) mark() {
	for idx, c := range t.next {
		if c != 0 && (t.exact[c] != 0 || t.prefix[c] != 0) {
			t.next[idx] = c | nodeMark
		}
	}
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
	maybe [26][16]uint32 // bit (last letter - 'a')
	// signature → groups, open addressing: a Go map cost more than the
	// rest of the lookup. A slot is empty when its groups are 0.
	sigs   []uint64
	groups []uint64
	mask   uint64
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
	var idx typoIndex
	words := map[uint64]uint64{}
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
			words[sig] |= e.groups & typoGroups
			idx.maybe[fw[0]-'a'][len(fw)] |= 1 << (fw[len(fw)-1] - 'a')
		}
	}
	size := 8
	for size < 2*len(words) {
		size <<= 1
	}
	idx.sigs, idx.groups, idx.mask = make([]uint64, size), make([]uint64, size), uint64(size-1)
	for sig, gs := range words {
		p := typoSlot(sig) & idx.mask
		for idx.groups[p] != 0 {
			p = (p + 1) & idx.mask
		}
		idx.sigs[p], idx.groups[p] = sig, gs
	}
	return idx
}

// typoSlot spreads a signature over the table (its low bits hold the
// last letter).
func typoSlot(sig uint64) uint64 { return (sig * 0x9E3779B97F4A7C15) >> 32 }

// maybeWord is lookup's first filter, small enough to be inlined where
// most words leave.
func (x *typoIndex) maybeWord(w []byte) bool {
	if len(w) < 5 || len(w) > 15 {
		return false
	}
	f, l := w[0]-'a', w[len(w)-1]-'a'
	return f < 26 && l < 26 && x.maybe[f][len(w)]&(1<<l) != 0
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
	for p := typoSlot(sig) & x.mask; x.groups[p] != 0; p = (p + 1) & x.mask {
		if x.sigs[p] == sig {
			return x.groups[p]
		}
	}
	return 0
}

// wordHash answers "which groups does this whole word have" with one probe,
// where the trie needs one dependent load per byte: most words of a prompt
// are five letters or longer and end up here. A slot holds the upper 47
// bits of the word's hash beside its groups, so a probe reads one cache
// line; a false match needs a 47-bit collision and would only make one
// unrelated word count as vocabulary. Stems and short words still go
// through the trie (rejoining split words needs its prefix walk).
type wordHash struct {
	slots []hashSlot
	mask  uint64
	stem2 [1 << 16 / 64]uint64 // first two bytes of every stem
}

// hashSlot.key: hash bits 17-63 | slotUsed | slotRot | trie node (the node
// for paths of up to shortWord bytes, else 0).
type hashSlot struct {
	key    uint64
	groups uint64
}

const (
	slotTag  = ^uint64(1<<17 - 1)
	slotUsed = 1 << 16
	slotRot  = 1 << 15
)

func hashWord(w []byte) uint64 {
	h := uint64(len(w)) * 0x9E3779B97F4A7C15
	for len(w) >= 8 {
		h = (h ^ binary.LittleEndian.Uint64(w)) * 0xff51afd7ed558ccd
		h ^= h >> 32
		w = w[8:]
	}
	var x uint64
	if cap(w) >= 8 {
		// the folded text has slack after its end: one load, masked to
		// the word, instead of a loop over the tail
		x = binary.LittleEndian.Uint64(w[:8]) & (1<<(8*len(w)) - 1)
	} else {
		for i, c := range w {
			x |= uint64(c) << (8 * i)
		}
	}
	h = (h ^ x) * 0xc4ceb9fe1a85ec53
	h ^= h >> 29
	return h
}

func (t *wordTrie) buildHash(words []string) {
	seen := map[string]bool{}
	var keys []string
	for _, w := range words {
		if stem, ok := strings.CutSuffix(w, "*"); ok {
			if len(stem) >= 2 {
				k := uint16(stem[0]) | uint16(stem[1])<<8
				t.hash.stem2[k/64] |= 1 << (k % 64)
			}
			continue
		}
		if len(w) > shortWord && !seen[w] {
			seen[w] = true
			keys = append(keys, w)
		}
	}
	// Every trie path of up to shortWord bytes goes in too, with its node:
	// a short word may be the first piece of a split one ("ign ore"), and
	// rejoining starts from that node.
	byClass := make([]byte, t.nclass)
	for b := range 256 {
		if c := t.class[b]; c != 0 {
			byClass[c] = byte(b)
		}
	}
	var paths []string
	var nodes []int32
	var dfs func(n int32, path []byte)
	dfs = func(n int32, path []byte) {
		for c := 1; c < t.nclass; c++ {
			child := int32(t.next[n*int32(t.nclass)+int32(c)] & nodeMask)
			if child == 0 {
				continue
			}
			p := append(path, byClass[c])
			paths = append(paths, string(p))
			nodes = append(nodes, child)
			if len(p) < shortWord {
				dfs(child, p)
			}
		}
	}
	dfs(0, nil)
	size := 1
	for size < 2*(len(keys)+len(paths)) {
		size <<= 1
	}
	t.hash.slots = make([]hashSlot, size)
	t.hash.mask = uint64(size - 1)
	add := func(w string, n int32, withNode bool) {
		key := uint64(slotUsed)
		if t.rotFlag[n] {
			key |= slotRot
		}
		if withNode {
			key |= uint64(n) // n ≤ nodeMask: buildTrie checks
		}
		h := hashWord([]byte(w))
		key |= h & slotTag
		for p := h & t.hash.mask; ; p = (p + 1) & t.hash.mask {
			if t.hash.slots[p].key == 0 {
				t.hash.slots[p] = hashSlot{key: key, groups: t.exact[n]}
				break
			}
		}
	}
	for _, w := range keys {
		add(w, t.walk([]byte(w)), false)
	}
	for i, w := range paths {
		add(w, nodes[i], true)
	}
}

// shortWord: words up to this many bytes are looked up with their trie
// node (see buildHash); longer ones only as whole vocabulary words.
const shortWord = 4

// walkWord walks w through the trie: the node where it ends (0 when w is
// not a path), the groups of stems it starts with, and whether it passes a
// vocabulary word of three or more letters on the way.
func (t *wordTrie) walkWord(w []byte) (n int32, pre uint64, deep bool) {
	nc := int32(t.nclass)
	for k, b := range w {
		cl := t.class[b]
		if cl == 0 {
			return 0, pre, deep
		}
		v := t.next[n*nc+int32(cl)]
		if v == 0 {
			return 0, pre, deep
		}
		n = int32(v & nodeMask)
		if v&nodeMark != 0 {
			// only nodes that end a word or a stem cost more loads
			if k >= 2 && t.exact[n] != 0 {
				deep = true
			}
			pre |= t.prefix[n]
		}
	}
	return n, pre, deep
}

// walk returns the node of w (0 when w is not a path in the trie).
func (t *wordTrie) walk(w []byte) int32 {
	n := int32(0)
	nc := int32(t.nclass)
	for _, b := range w {
		c := t.class[b]
		if c == 0 {
			return 0
		}
		if n = int32(t.next[n*nc+int32(c)] & nodeMask); n == 0 {
			return 0
		}
	}
	return n
}

// lookupHash returns the groups of the whole word w, whether that word
// exists only as a ROT13 form, and (for words of up to shortWord bytes) its
// trie node, 0 when w is no trie path.
func (t *wordTrie) lookupHash(w []byte) (uint64, bool, int32) {
	h := hashWord(w)
	for p := h & t.hash.mask; ; p = (p + 1) & t.hash.mask {
		s := &t.hash.slots[p]
		if s.key == 0 {
			return 0, false, 0
		}
		if s.key&slotTag == h&slotTag {
			return s.groups, s.key&slotRot != 0, int32(s.key & uint64(nodeMask))
		}
	}
}

// maybeStem: some stem starts with w's first two bytes.
func (t *wordTrie) maybeStem(w []byte) bool {
	k := uint16(w[0]) | uint16(w[1])<<8
	return t.hash.stem2[k/64]&(1<<(k%64)) != 0
}
