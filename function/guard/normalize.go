package guard

import (
	"encoding/binary"
	"math/bits"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/mtibben/confusables"
	"golang.org/x/text/unicode/norm"
)

// The folded form the injection detector matches against. Every evasion that
// keeps a word readable to a model is undone here, so the vocabulary only has
// to list each word once:
//
//   - zero-width, bidi, variation-selector and other Cf/Cc characters are
//     dropped and counted (their presence is itself a signal); Unicode tag
//     characters are decoded to the ASCII they smuggle;
//   - NFKC folds full-width and mathematical letters to ASCII;
//   - Unicode TR39 confusables (Cyrillic/Greek look-alikes) map to their
//     skeleton, accents are stripped, everything is lower case;
//   - leetspeak digits and symbols inside words become letters, and 'l'
//     becomes 'i' so "1gnore" and "ignore" meet;
//   - any run of separators becomes one space; the matcher rejoins words
//     split by spaces or punctuation ("i-g-n-o-r-e", "ign ore").
//
// The vocabulary goes through the same function, so the mapping only has to
// be consistent, not pretty (TR39's own caveat about skeletons).

// Bytes the folded text uses for punctuation that the rules look at.
const (
	foldClause = '.' // sentence or clause break: . ! ? ; : newline
	foldQuote  = '"' // any quotation mark or backtick
)

// ASCII byte classes for the fold pass.
const (
	clsSep uint8 = iota
	clsLetter
	clsDigit
	clsLeet // '@' and '$' inside a word
	clsClause
	clsQuote
	clsApos
	clsUnder // '_' joins identifier words; the matcher splits them again
	clsInvisible
)

var asciiClass = func() (t [128]uint8) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = clsLetter
		t[c-32] = clsLetter
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = clsDigit
	}
	t['@'], t['$'] = clsLeet, clsLeet
	t['_'] = clsUnder
	for _, c := range ".!?;:\n" {
		t[c] = clsClause
	}
	t['"'], t['`'] = clsQuote, clsQuote
	t['\''] = clsApos
	// control characters render as nothing: dropped like zero-width ones,
	// so "i\x00g\x00n…" reads "ign…" on both paths
	for c := 0; c < 0x20; c++ {
		if c != '\n' && c != '\t' && c != '\r' {
			t[c] = clsInvisible
		}
	}
	t[0x7F] = clsInvisible
	return t
}()

var leetMap = func() (t [128]byte) {
	for i := range t {
		t[i] = byte(i)
	}
	t['0'], t['1'], t['3'], t['4'], t['5'], t['7'], t['8'], t['9'] = 'o', 'i', 'e', 'a', 's', 't', 'b', 'g'
	t['@'], t['$'] = 'a', 's'
	return t
}()

// foldTable maps non-ASCII runes from the scripts look-alike attacks use to
// their folded form; built once per Guard from the TR39 confusables data.
type foldTable map[rune]string

// foldRanges are the blocks whose letters are folded. CJK and other scripts
// without Latin look-alikes pass through untouched.
var foldRanges = [][2]rune{
	{0x00A0, 0x036F}, // Latin-1, Latin Extended A/B, IPA, spacing and combining marks
	{0x0370, 0x052F}, // Greek, Cyrillic (+ supplement)
	{0x0530, 0x058F}, // Armenian
	{0x13A0, 0x13FF}, // Cherokee
	{0x1D00, 0x1DBF}, // phonetic extensions
	{0x1E00, 0x1FFF}, // Latin Extended Additional, Greek Extended
	{0x2010, 0x2027}, // dashes, curly quotes
	{0x2100, 0x218F}, // letterlike symbols, Roman numerals
	{0x2C60, 0x2C7F}, // Latin Extended C
	{0xA720, 0xA7FF}, // Latin Extended D
}

func newFoldTable() foldTable {
	return buildFoldTable(func(yield func(rune) bool) {
		for _, rg := range foldRanges {
			for r := rg[0]; r <= rg[1]; r++ {
				if !yield(r) {
					return
				}
			}
		}
	})
}

// foldTableFor builds the entries of the runes in words only: the
// vocabulary needs a few dozen of the table's ~2,500, so New does not pay
// for the rest (see lazyFoldTable).
func foldTableFor(words func(yield func(string) bool)) foldTable {
	return buildFoldTable(func(yield func(rune) bool) {
		for w := range words {
			for _, r := range w {
				if inFoldRanges(r) && !yield(r) {
					return
				}
			}
		}
	})
}

func inFoldRanges(r rune) bool {
	for _, rg := range foldRanges {
		if r >= rg[0] && r <= rg[1] {
			return true
		}
	}
	return false
}

// buildFoldTable computes the entries of the runes yielded (all from
// foldRanges) plus the short fixed lists below.
func buildFoldTable(runes func(yield func(rune) bool)) foldTable {
	t := foldTable{}
	var buf []byte
	for r := range runes {
		if _, done := t[r]; done || !utf8.ValidRune(r) {
			continue
		}
		switch r {
		case 0x2018, 0x2019, 0x201A, 0x201B:
			t[r] = "'"
			continue
		case 0x201C, 0x201D, 0x201E, 0x201F:
			t[r] = `"`
			continue
		}
		sk := confusables.Skeleton(string(unicode.ToLower(r)))
		buf = buf[:0]
		for _, s := range norm.NFD.String(sk) {
			if unicode.Is(unicode.Mn, s) {
				continue
			}
			buf = utf8.AppendRune(buf, unicode.ToLower(s))
		}
		if out := string(buf); out != string(r) {
			t[r] = out
		}
	}
	// TR39 has no entry for most small capitals ("ɪɢɴᴏʀᴇ") nor for the
	// enclosed letters emoji render (🅸🅶🅽, regional indicators), which
	// NFKC leaves alone too: a short, complete list.
	for r, l := range smallCaps {
		t[r] = string(l)
	}
	for k := rune(0); k < 26; k++ {
		for _, base := range []rune{0x1F130, 0x1F150, 0x1F170, 0x1F1E6} {
			t[base+k] = string('a' + k)
		}
	}
	return t
}

// foldSource gives the normaliser its table only when a text is not ASCII.
type foldSource interface{ table() foldTable }

func (t foldTable) table() foldTable { return t }

// lazyFoldTable builds the full table on the first non-ASCII text: most
// prompts are ASCII, and the ~1.5 ms of TR39 skeletons is then not part of
// every cold start. Safe for concurrent use.
type lazyFoldTable struct {
	once sync.Once
	t    foldTable
}

func (l *lazyFoldTable) table() foldTable {
	l.once.Do(func() { l.t = newFoldTable() })
	return l.t
}

var smallCaps = map[rune]byte{
	0x1D00: 'a', 0x0299: 'b', 0x1D04: 'c', 0x1D05: 'd', 0x1D07: 'e', 0xA730: 'f', 0x0262: 'g', 0x029C: 'h',
	0x026A: 'i', 0x1D0A: 'j', 0x1D0B: 'k', 0x029F: 'l', 0x1D0D: 'm', 0x0274: 'n', 0x1D0F: 'o', 0x1D18: 'p',
	0x01EB: 'q', 0x0280: 'r', 0xA731: 's', 0x1D1B: 't', 0x1D1C: 'u', 0x1D20: 'v', 0x1D21: 'w', 0x028F: 'y', 0x1D22: 'z',
}

// invisible reports characters that render as nothing: format (Cf) and
// control characters other than ordinary whitespace, variation selectors and
// private-use code points.
func invisible(r rune) bool {
	switch {
	case r == '\n' || r == '\t' || r == '\r':
		return false
	case r < 0x20 || (r >= 0x7F && r < 0xA0):
		return true
	case r == 0x00AD, r == 0x034F, r == 0x115F, r == 0x1160, r == 0x3164, r == 0xFFA0:
		return true
	case r >= 0xFE00 && r <= 0xFE0F, r >= 0xE0100 && r <= 0xE01EF:
		return true
	}
	return unicode.In(r, unicode.Cf, unicode.Co)
}

// foldState is the per-scan scratch the normaliser fills; reused via a pool.
type foldState struct {
	fold       []byte // folded text: lowercase words, ' ', foldClause, foldQuote
	pre        []byte // slow path: text after invisible removal
	nfkc       []byte // slow path: pre in NFKC when it was not already
	tags       []byte // ASCII smuggled in Unicode tag characters
	invisible  int    // invisible characters removed
	mixed      int    // words mixing Latin with Cyrillic/Greek letters
	nonASCII   bool
	cjk        bool
	wordStart  int
	wordLetter bool
	wordLeet   bool
	// spans are the words of fold as [start, end) offsets, recorded by the
	// ASCII path so the word scanner need not look for their ends again
	// (end has spanUnder set when the word holds '_'); hasSpans is false
	// after the general path.
	spans    [][2]int32
	hasSpans bool
}

func (f *foldState) reset() {
	f.fold, f.pre, f.tags = f.fold[:0], f.pre[:0], f.tags[:0]
	f.invisible, f.mixed = 0, 0
	f.hasSpans = false
	f.nonASCII, f.cjk = false, false
}

// normalize folds s into f.fold.
func (f *foldState) normalize(s string, fs foldSource) {
	f.reset()
	if isASCII(s) {
		f.foldASCII(s)
		return
	}
	f.nonASCII = true
	for i := 0; i < len(s); {
		// Prompts that are not ASCII are still mostly ASCII: copy printable
		// runs whole instead of decoding and classifying rune by rune.
		if c := s[i]; c < utf8.RuneSelf {
			k := i
			for k < len(s) && s[k] < utf8.RuneSelf && (s[k] >= 0x20 && s[k] != 0x7F || s[k] == '\n' || s[k] == '\t' || s[k] == '\r') {
				k++
			}
			if k > i {
				f.pre = append(f.pre, s[i:k]...)
				i = k
				continue
			}
			f.invisible++ // an ASCII control character
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r >= 0xE0000 && r <= 0xE007F:
			// Tag characters mirror ASCII one-to-one and render as nothing:
			// decode them so the smuggled text is scanned too.
			f.invisible++
			if r >= 0xE0020 && r <= 0xE007E {
				f.tags = append(f.tags, byte(r-0xE0000))
			}
		case invisible(r):
			f.invisible++
		default:
			f.pre = utf8.AppendRune(f.pre, r)
		}
	}
	pre := f.pre
	if norm.NFKC.QuickSpan(pre) < len(pre) {
		// QuickSpan, unlike IsNormal, allocates nothing; text it cannot
		// vouch for is normalised (unchanged if normal after all) into a
		// reused buffer. Append still allocates its 576-byte reorder
		// buffer once per call: norm.Iter would not, but walks ASCII a
		// byte per call and cost 15 µs more on a 4,000-byte prompt.
		f.nfkc = norm.NFKC.Append(f.nfkc[:0], pre...)
		pre = f.nfkc
	}
	f.foldMixed(pre, fs.table())
}

func (f *foldState) endWord() {
	if f.wordLetter && f.wordLeet {
		w := f.fold[f.wordStart:]
		for i, c := range w {
			if c < utf8.RuneSelf {
				w[i] = leetMap[c]
			}
		}
	}
	f.wordLetter, f.wordLeet = false, false
	f.wordStart = -1
}

func (f *foldState) sep(b byte) {
	if f.wordStart >= 0 {
		f.endWord()
	}
	n := len(f.fold)
	switch {
	case n == 0 && b == ' ':
	case n > 0 && f.fold[n-1] == ' ':
		if b != ' ' {
			f.fold[n-1] = b
		}
	case n > 0 && b == ' ' && (f.fold[n-1] == foldClause || f.fold[n-1] == foldQuote):
	default:
		f.fold = append(f.fold, b)
	}
}

// wordByte appends one byte of a word; digits and symbols are folded when
// the word ends, once it is known to hold letters.
func (f *foldState) wordByte(c byte, cls uint8) {
	if f.wordStart < 0 {
		f.openWord()
	}
	switch cls {
	case clsLetter:
		c |= 0x20
		if c == 'l' {
			c = 'i'
		}
		f.wordLetter = true
	case clsDigit, clsLeet:
		f.wordLeet = true
	}
	f.fold = append(f.fold, c)
}

// byteText is what the slow path reads: the input string, or the NFKC
// buffer, which it reads in place instead of copying to a string.
type byteText interface{ ~string | ~[]byte }

func asciiByte[S byteText](f *foldState, s S, i int, c byte) {
	switch cls := asciiClass[c]; cls {
	case clsLetter, clsDigit:
		f.wordByte(c, cls)
	case clsUnder:
		if f.wordStart >= 0 && i+1 < len(s) && s[i+1] < utf8.RuneSelf && asciiClass[s[i+1]] == clsLetter {
			f.fold = append(f.fold, '_')
		} else {
			f.sep(' ')
		}
	case clsLeet:
		if f.wordStart >= 0 || (i+1 < len(s) && asciiClass[s[i+1]&0x7F] == clsLetter && s[i+1] < utf8.RuneSelf) {
			f.wordByte(c, cls)
		} else {
			f.sep(' ')
		}
	case clsInvisible:
		f.invisible++
	case clsClause:
		f.sep(foldClause)
	case clsQuote:
		f.sep(foldQuote)
	case clsApos:
		// An apostrophe between letters belongs to the word ("don't");
		// elsewhere it is a quotation mark.
		if f.wordStart >= 0 && i+1 < len(s) && s[i+1] < utf8.RuneSelf && asciiClass[s[i+1]] == clsLetter {
			if elision(f.fold[f.wordStart:]) {
				f.sep(' ')
			}
			return
		}
		f.sep(foldQuote)
	default:
		f.sep(' ')
	}
}

var lowerTab = func() (t [256]byte) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = byte(c)
		t[c-32] = byte(c)
	}
	t['l'], t['L'] = 'i', 'i'
	return t
}()

// spanUnder marks a span's end: the word is snake_case.
const spanUnder = 1 << 30

// foldLetters8 folds eight ASCII bytes at once (SWAR): it returns how many
// leading bytes are letters and the bytes lower-cased with 'l' made 'i',
// exactly as lowerTab maps them. Bytes past the count are garbage.
func foldLetters8(x uint64) (int, uint64) {
	k, v, _ := foldLetters8Mask(x)
	return k, v
}

// foldLetters8Mask is foldLetters8 that also returns the high bit of each
// letter byte.
func foldLetters8Mask(x uint64) (int, uint64, uint64) {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
		lows  = 0x7f7f7f7f7f7f7f7f
	)
	lower := x | 0x20*ones
	// a byte is a letter when lower is in 'a'..'z': ≥ 0x61 and < 0x7b,
	// tested with the high bit of two biased sums (no carries: x is ASCII)
	letters := (lower + (0x80-'a')*ones) &^ (lower + (0x80-'z'-1)*ones) & highs
	k := bits.TrailingZeros64(^letters&highs) >> 3
	if k == 0 {
		return 0, 0, 0
	}
	// 'l' → 'i': find bytes equal to 'l' exactly and subtract 3 there
	v := lower ^ 'l'*ones
	z := ^((v&lows + lows) | v | lows)
	return k, lower - (z>>7)*3, letters
}

// proseChunk: the eight ASCII bytes of x (letters: foldLetters8's mask)
// are letters and single spaces, the first and the last a letter. spaces
// has the high bit of each space byte set.
func proseChunk(x, letters uint64) (spaces uint64, ok bool) {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
		lows  = 0x7f7f7f7f7f7f7f7f
	)
	v := x ^ ' '*ones
	spaces = ^((v&lows + lows) | v | lows)
	ok = letters|spaces == highs && spaces&(spaces<<8) == 0 && letters&(1<<7|1<<63) == 1<<7|1<<63
	return spaces, ok
}

// isASCII checks eight bytes at a time.
func isASCII(s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if binary.LittleEndian.Uint64([]byte(s[i:i+8]))&0x8080808080808080 != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// foldASCII is the hot path (most prompts are ASCII): the same folding as
// asciiByte, written as one loop over a buffer sized up front. A test keeps
// the two paths identical.
func (f *foldState) foldASCII(s string) {
	f.spans = f.spans[:0]
	f.hasSpans = true
	out := f.fold[:0]
	if cap(out) < len(s)+1 {
		out = make([]byte, 0, len(s)+64)
	}
	out = out[:len(s)+1]
	o := 0
	n := len(s)
	for i := 0; i < n; {
		c := s[i]
		cls := asciiClass[c]
		if cls == clsLetter || cls == clsDigit || (cls == clsLeet && i+1 < n && asciiClass[s[i+1]] == clsLetter) {
			start := o
			letter, leet, under := false, false, false
		word:
			for i < n {
				// letters are most bytes: fold them eight at a time, then
				// byte by byte near the end of the text
				for i+8 <= n {
					x := binary.LittleEndian.Uint64([]byte(s[i : i+8]))
					k, v, letters := foldLetters8Mask(x)
					if k == 0 {
						break
					}
					if k < 8 && !leet && !under {
						// Prose: eight bytes of letters and single spaces,
						// ending in a letter, fold to themselves lowered;
						// each space ends a word and opens the next. Taking
						// them whole saves a mispredicted exit per word.
						if spaces, ok := proseChunk(x, letters); ok {
							binary.LittleEndian.PutUint64(out[o:], v)
							for spaces != 0 {
								b := o + bits.TrailingZeros64(spaces)>>3
								f.spans = append(f.spans, [2]int32{})
								sp := &f.spans[len(f.spans)-1]
								sp[0], sp[1] = int32(start), int32(b)
								start = b + 1
								spaces &= spaces - 1
							}
							o += 8
							i += 8
							letter = true
							continue
						}
					}
					// all eight bytes are written; those past k are
					// overwritten next (the output never outruns the input)
					binary.LittleEndian.PutUint64(out[o:], v)
					o += k
					i += k
					letter = true
					if k < 8 {
						break
					}
				}
				for i < n {
					l := lowerTab[s[i]]
					if l == 0 {
						break
					}
					out[o] = l
					o++
					i++
					letter = true
				}
				if i >= n {
					break
				}
				c = s[i]
				switch asciiClass[c&0x7F] {
				case clsLetter:
					out[o] = lowerTab[c]
					letter = true
				case clsDigit, clsLeet:
					out[o] = c
					leet = true
				case clsUnder:
					if i+1 < n && asciiClass[s[i+1]] == clsLetter {
						out[o] = '_'
						under = true
					} else {
						break word
					}
				case clsApos:
					if i+1 < n && asciiClass[s[i+1]] == clsLetter && !elision(out[start:o]) {
						i++
						continue
					}
					break word
				case clsInvisible:
					f.invisible++
					i++
					continue
				default:
					break word
				}
				o++
				i++
			}
			if letter && leet {
				for k := start; k < o; k++ {
					out[k] = leetMap[out[k]]
				}
			}
			end := int32(o)
			if under {
				end |= spanUnder
			}
			// element by element: a [2]int32 literal is built on the stack
			// with two 4-byte stores and copied with one 8-byte load, which
			// store forwarding cannot serve
			f.spans = append(f.spans, [2]int32{})
			sp := &f.spans[len(f.spans)-1]
			sp[0], sp[1] = int32(start), end
			// one space before the next word is the common case: the
			// separator code below would write just this
			if i+1 < n && s[i] == ' ' && asciiClass[s[i+1]] == clsLetter {
				out[o] = ' '
				o++
				i++
			}
			continue
		}
		if cls == clsInvisible {
			f.invisible++
			i++
			continue
		}
		b := byte(' ')
		switch cls {
		case clsClause:
			b = foldClause
		case clsQuote:
			b = foldQuote
		case clsApos:
			// between letters here only after an elision: a word break
			if o == 0 || isFoldSep(out[o-1]) || i+1 >= n || asciiClass[s[i+1]] != clsLetter {
				b = foldQuote
			}
		}
		i++
		switch {
		case o == 0:
			if b == ' ' {
				continue
			}
		case out[o-1] == ' ':
			if b != ' ' {
				out[o-1] = b
			}
			continue
		case b == ' ' && (out[o-1] == foldClause || out[o-1] == foldQuote):
			continue
		}
		out[o] = b
		o++
	}
	if o > 0 && !isFoldSep(out[o-1]) {
		out[o] = ' '
		o++
	}
	f.fold = out[:o]
}

// foldASCIISlow folds ASCII text through the general per-byte path; tests
// compare it with foldASCII.
func (f *foldState) foldASCIISlow(s string) {
	f.reset()
	f.wordStart = -1
	f.wordLetter, f.wordLeet = false, false
	for i := 0; i < len(s); i++ {
		asciiByte(f, s, i, s[i])
	}
	f.sep(' ')
}

// elision: a one-letter word or "qu" before an apostrophe is a French or
// Italian article or pronoun ("d'ignorer", "l'istruzione", "qu'on"), a word
// of its own; longer ones keep the apostrophe inside ("don't").
func elision(w []byte) bool {
	return len(w) == 1 || len(w) == 2 && w[0] == 'q' && w[1] == 'u'
}

func isCJK(r rune) bool {
	return (r >= 0x3040 && r <= 0x30FF) || (r >= 0x3400 && r <= 0x9FFF) || (r >= 0xAC00 && r <= 0xD7AF) || (r >= 0xF900 && r <= 0xFAFF)
}

// openWord starts a word for a non-ASCII letter.
func (f *foldState) openWord() {
	if f.wordStart >= 0 {
		return
	}
	// words are separated by exactly one byte: glue a space only where the
	// previous word ended without any separator (a script change)
	if n := len(f.fold); n > 0 && !isFoldSep(f.fold[n-1]) {
		f.fold = append(f.fold, ' ')
	}
	f.wordStart = len(f.fold)
}

// countMixed counts words that mix Latin letters with Greek or Cyrillic ones,
// the mark of a look-alike substitution (a Russian word has no Latin letter).
// Only the words around Greek and Cyrillic letters are looked at: their
// UTF-8 starts with a byte in 0xCD..0xD4, which nothing else does.
func countMixed(s []byte) int {
	n := 0
	for i := 0; i < len(s); {
		p := i
		for p < len(s) && s[p]-0xCD > 0xD4-0xCD {
			p++
		}
		if p == len(s) {
			break
		}
		r, size := utf8.DecodeRune(s[p:])
		if r < 0x370 || r > 0x52F {
			i = p + size
			continue
		}
		a := p
		for a > 0 {
			r, size := utf8.DecodeLastRune(s[:a])
			if !mixedWordRune(r) {
				break
			}
			a -= size
		}
		b := p + size
		for b < len(s) {
			r, size := utf8.DecodeRune(s[b:])
			if !mixedWordRune(r) {
				break
			}
			b += size
		}
		for _, c := range s[a:b] {
			if c < utf8.RuneSelf && asciiClass[c] == clsLetter {
				n++
				break
			}
		}
		i = b
	}
	return n
}

// mixedWordRune: the runes a word is made of for countMixed.
func mixedWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return asciiClass[r] == clsLetter
	}
	return r >= 0x370 && r <= 0x52F || unicode.IsLetter(r)
}

func (f *foldState) foldMixed(b []byte, ft foldTable) {
	f.wordStart = -1
	f.wordLetter, f.wordLeet = false, false
	f.mixed = countMixed(b)
	for i := 0; i < len(b); {
		if c := b[i]; c < utf8.RuneSelf {
			if asciiClass[c] == clsLetter {
				// a run of ASCII letters: what asciiByte does to each,
				// without the per-byte dispatch
				f.openWord()
				for i < len(b) && b[i] < utf8.RuneSelf && asciiClass[b[i]] == clsLetter {
					f.fold = append(f.fold, lowerTab[b[i]])
					i++
				}
				f.wordLetter = true
				continue
			}
			asciiByte(f, b, i, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		i += size
		if isCJK(r) {
			f.cjk = true
		}
		rep, ok := ft[r]
		if !ok {
			switch {
			case unicode.IsLetter(r) || unicode.IsNumber(r):
				f.openWord()
				f.fold = utf8.AppendRune(f.fold, unicode.ToLower(r))
			case unicode.Is(unicode.Mn, r):
				// accents NFKC left on letters outside the fold ranges
			case r == 0x3002 || r == 0xFF61:
				f.sep(foldClause)
			default:
				f.sep(' ')
			}
			continue
		}
		// The replacement is ASCII for look-alikes, or other letters (a
		// Cyrillic letter without a Latin twin stays itself, lower case).
		for j, rr := range rep {
			if rr < utf8.RuneSelf {
				asciiByte(f, rep, j, byte(rr))
				continue
			}
			if unicode.IsLetter(rr) || unicode.IsNumber(rr) {
				f.openWord()
				f.fold = utf8.AppendRune(f.fold, rr)
			} else if !unicode.Is(unicode.Mn, rr) {
				f.sep(' ')
			}
		}
	}
	f.sep(' ')
}
