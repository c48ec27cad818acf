package guard

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"unicode/utf8"
)

// The learned model: a logistic regression over hashed features of the
// folded text (see appendFeatures). The rules (inject.go) know what an
// override or a persona looks like in words they list; the model knows
// what injection text reads like when it uses none of them ("drop the
// act", "the guidance you got was a draft"). A second stage, fitted on the
// model's out-of-fold predictions, weighs the two, so neither alone
// decides a borderline case, and trusts each kind of rule signal as far as
// it held on text nobody tuned the rules on.
//
// model.bin is produced by `go test -run TestTrainModel -update-model`
// from the corpora listed in learned_train_test.go; training is
// deterministic and a test checks the committed file is what the
// committed corpora give.

//go:embed model.bin
var modelFile []byte

// embeddedModel is model.bin parsed once per process: every Guard reads the
// same immutable weights, so a second New need not unpack them again.
var embeddedModel = sync.OnceValues(func() (*linearModel, error) { return parseModel(modelFile) })

const modelMagic = "GLM2"

// linearModel holds quantised weights: w[i]*scale is the weight of bucket i.
type linearModel struct {
	bits  uint8
	mask  uint32
	scale float32
	bias  float32
	w     []int8
	// stacking: final logit = a*logit(rule score) + b*whole-text logit +
	// d*most suspicious window's logit + e*long + s*short + Σ k[i]*signal
	// i + c, where long and short say how far the text is from a window's
	// length (the best of many windows is high by chance; a short text
	// has few, shared buckets) and the signals are the rules' per kind
	// (decoded payloads weigh a lot: the model cannot read base64)
	a, b, c, d, e, s float32
	k                [numKinds]float32
}

// parseModel reads the embedded format: gzip of the magic, the hash bits
// (one byte), scale, bias and the nStack second-stage parameters
// (little-endian float32), then 1<<bits int8 weights.
func parseModel(data []byte) (*linearModel, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	const head = len(modelMagic) + 1 + (2+nStack)*4
	var h [head]byte
	if _, err := io.ReadFull(zr, h[:]); err != nil || string(h[:len(modelMagic)]) != modelMagic {
		return nil, fmt.Errorf("model: bad header: %v", err)
	}
	m := &linearModel{bits: h[len(modelMagic)]}
	if m.bits < 10 || m.bits > 24 {
		return nil, fmt.Errorf("model: %d hash bits", m.bits)
	}
	f := func(i int) float32 {
		o := len(modelMagic) + 1 + 4*i
		return math.Float32frombits(binary.LittleEndian.Uint32(h[o:]))
	}
	m.scale, m.bias = f(0), f(1)
	m.a, m.b, m.c, m.d, m.e, m.s = f(2), f(3), f(4), f(5), f(6), f(7)
	for i := range m.k {
		m.k[i] = f(8 + i)
	}
	n := 1 << m.bits
	m.mask = uint32(n - 1)
	w := make([]byte, n)
	if _, err := io.ReadFull(zr, w); err != nil {
		return nil, fmt.Errorf("model: weights: %w", err)
	}
	if k, _ := zr.Read(h[:1]); k != 0 {
		return nil, errors.New("model: bytes after the weights")
	}
	if err := zr.Close(); err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	m.w = make([]int8, n)
	for i, b := range w {
		m.w[i] = int8(b)
	}
	return m, nil
}

// nStack is the number of second-stage parameters: a, b, c, d, e, s and
// one per signal kind.
const nStack = 6 + numKinds

// logits are the model's log-odds that the text is an injection, read
// over the whole text and over its most suspicious window of features: a
// planted sentence in a long document is a few features among thousands,
// averaged away over the whole text. For a short text the two are equal.
func (m *linearModel) logits(feat []uint32) (whole, window float64) {
	n := len(feat)
	if n == 0 {
		return float64(m.bias), float64(m.bias)
	}
	var sum, win, best int32
	for i, h := range feat {
		x := int32(m.w[h&m.mask])
		sum += x
		win += x
		if i >= windowFeatures {
			win -= int32(m.w[feat[i-windowFeatures]&m.mask])
		}
		if i == windowFeatures-1 || (i >= windowFeatures && win > best) {
			best = win
		}
	}
	whole = float64(m.bias) + float64(m.scale)*float64(sum)/math.Sqrt(float64(n+priorFeatures))
	if n <= windowFeatures {
		return whole, whole
	}
	return whole, float64(m.bias) + float64(m.scale)*float64(best)/math.Sqrt(float64(windowFeatures+priorFeatures))
}

// combined is the final probability from the rule score and the model's
// reading of n features.
func (m *linearModel) combined(rule float64, sig *[numKinds]float64, whole, window float64, n int) float64 {
	long, short := lengthTerms(n)
	z := float64(m.a)*ruleLogit(rule) + float64(m.b)*whole + float64(m.d)*window + float64(m.e)*long + float64(m.s)*short + float64(m.c)
	for i, x := range sig {
		z += float64(m.k[i]) * x
	}
	return 1 / (1 + math.Exp(-z))
}

// lengthTerms are how much longer than a window the text is, and how much
// shorter, on a log scale; the second stage weighs each.
func lengthTerms(n int) (long, short float64) {
	l := math.Log(float64(n+priorFeatures) / (windowFeatures + priorFeatures))
	return max(l, 0), max(-l, 0)
}

// ruleLogit maps a rule score to log-odds, clamped so a zero or a certain
// score stays finite.
func ruleLogit(r float64) float64 {
	r = min(max(r, 0.01), 0.99)
	return math.Log(r / (1 - r))
}

// featHashAt hashes fold[i:j] eight bytes at a time: every word is hashed
// once per scan, so this is much of the model's cost on long prompts. The
// last, partial chunk is read as a whole word from fold when fold goes on
// that far, and masked.
func featHashAt(fold []byte, i, j int) uint32 {
	h := uint64(j-i) * 0x9e3779b97f4a7c15
	for ; j-i >= 8; i += 8 {
		h = (h ^ binary.LittleEndian.Uint64(fold[i:])) * 0xff51afd7ed558ccd
		h ^= h >> 32
	}
	if n := j - i; n > 0 {
		var t uint64
		if i+8 <= len(fold) {
			t = binary.LittleEndian.Uint64(fold[i:]) & (1<<(8*n) - 1)
		} else {
			for k, c := range fold[i:j] {
				t |= uint64(c) << (8 * k)
			}
		}
		h = (h ^ t) * 0xff51afd7ed558ccd
		h ^= h >> 32
	}
	return uint32(h)
}

const (
	// seeds keep the feature families apart in the hash space
	seedPair  = 0x9e3779b1
	seedStem  = 0x85ebca77
	seedRune  = 0xc2b2ae3d
	seedRole  = 0x27d4eb2f
	seedQuote = 0x6a09e667
	seedSkip  = 0xbb67ae85
)

func mix(a, b uint32) uint32 {
	h := a*0x2c1b3c6d ^ b
	h ^= h >> 15
	h *= 0x297a2d39
	h ^= h >> 12
	return h
}

// appendFeatures appends the hash of every feature of the folded text: each
// word (and again, marked, when it is quoted), each pair of neighbouring
// words and of words one apart in a clause, the first five bytes
// of long words (a crude stem that also matches "instruction",
// "instructions", "instrucciones"), pairs of neighbouring characters inside
// CJK runs, where words are not spaced, and the vocabulary roles of the
// rule words (hits) alone and in pairs, which carry what the rules know
// about synonyms in eight languages to wordings no rule spells out.
func appendFeatures(dst []uint32, fold []byte, hits []hit) []uint32 {
	// role features go in at their word's place, so a window of the
	// feature list (see logits) is a window of the text
	hi := 0
	var word int32
	var prev, prev2 uint32
	havePrev, havePrev2, quoted := false, false, false
	for i := 0; i < len(fold); {
		b := fold[i]
		if b == ' ' || b == foldClause || b == foldQuote {
			if b != ' ' {
				havePrev, havePrev2 = false, false
			}
			if b == foldQuote {
				quoted = !quoted
			}
			i++
			continue
		}
		cjk := false
		j := i
		for ; j < len(fold); j++ {
			c := fold[j]
			if c == ' ' || c == foldClause || c == foldQuote {
				break
			}
			if c >= 0xe3 && c <= 0xe9 {
				cjk = true
			}
		}
		h := featHashAt(fold, i, j)
		if hi < len(hits) && hits[hi].pos <= word {
			dst, hi = appendRoles(dst, hits, hi, word)
		}
		word++
		dst = append(dst, h)
		if quoted {
			// the same word quoted: an example being discussed, or a
			// planted line in pasted text; the model tells them apart by
			// what surrounds it
			dst = append(dst, h^seedQuote)
		}
		if havePrev {
			dst = append(dst, mix(prev^seedPair, h))
		}
		if havePrev2 {
			dst = append(dst, mix(prev2^seedSkip, h))
		}
		if cjk {
			var pr rune = -1
			for k := i; k < j; {
				r, size := utf8.DecodeRune(fold[k:j])
				if pr >= 0 {
					dst = append(dst, mix(uint32(pr)^seedRune, uint32(r)))
				}
				pr = r
				k += size
			}
		} else if j-i > 6 {
			dst = append(dst, featHashAt(fold, i, i+5)^seedStem)
		}
		prev2, havePrev2 = prev, havePrev
		prev, havePrev = h, true
		i = j
	}
	dst, _ = appendRoles(dst, hits, hi, math.MaxInt32)
	return dst
}

// appendRoles appends the role features of hits[hi:] up to word upTo and
// returns the next hit's index.
func appendRoles(dst []uint32, hits []hit, hi int, upTo int32) ([]uint32, int) {
	for ; hi < len(hits) && hits[hi].pos <= upTo; hi++ {
		g := hits[hi].groups
		r := mix(uint32(g)^seedRole, uint32(g>>32))
		dst = append(dst, r)
		if hi+1 < len(hits) && hits[hi+1].pos-hits[hi].pos <= 3 && hits[hi+1].sentence == hits[hi].sentence {
			g2 := hits[hi+1].groups
			dst = append(dst, mix(r, mix(uint32(g2)^seedRole, uint32(g2>>32))))
		}
	}
	return dst, hi
}

// priorFeatures damps short texts: a feature's value is 1/sqrt(n+prior),
// so a text of one or two words, whose few buckets are shared by chance
// with thousands of other features (hashing), cannot swing the score.
const priorFeatures = 16

// windowFeatures is the window logits reads: about 20 words.
const windowFeatures = 96
