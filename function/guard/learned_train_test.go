package guard

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

var updateModel = flag.Bool("update-model", false, "retrain the injection model and rewrite model.bin")

// trainFiles are the corpora the model learns from: the rules' corpora
// and every train_* set. The eval_* sets are not among them: they were
// written blind and are only ever scored.
func trainFiles(t *testing.T) []string {
	files := []string{
		"injection.jsonl", "injection_extra.jsonl",
		"holdout_injection.jsonl", "holdout2_injection.jsonl", "holdout3_injection.jsonl",
		"holdout4_injection.jsonl", "holdout5_injection.jsonl", "holdout6_injection.jsonl",
		"holdout7_injection.jsonl", "holdout8_injection.jsonl",
	}
	more, err := filepath.Glob(filepath.Join("testdata", "corpus", "train_*.jsonl"))
	if err != nil || len(more) == 0 {
		t.Fatalf("no train_* corpora: %v", err)
	}
	for _, f := range more {
		files = append(files, filepath.Base(f))
	}
	return files
}

// Training settings. The results hardly move with them (tried: 2^16 to
// 2^18 buckets, 5 to 30 epochs, L2 1e-6 to 1e-4; weights quantised to 15
// levels a side score within one text of 127 levels on eval_9 and eval_10
// and gzip to 33 KB instead of 55, which keeps the arm64 Lambda bootstrap
// under 15 MiB); more and more varied text is what moves them.
const trainBits uint8 = 16

// operatingOdds: the stacked odds at which a text is flagged (score 0.5
// after the shift). The log-loss optimum sits where a false alarm costs
// what a miss does, and text from a new writer raises false alarms more
// than out-of-fold figures predict. With the 31 training sets, the six
// blind eval sets (9-14) all clear both bars at 9:4 (recall 0.924-0.969,
// FPR 0.004-0.020); at 3:2 eval_14's FPR is 0.048, and at 1:1 more fail.
const operatingOdds = 2.25

const (
	quantLevels = 15
	trainEpochs = 12
	trainL2     = 1e-5
	trainRate   = 0.5
	trainFolds  = 5
	stackRidge  = 0.1
)

type sample struct {
	idx  []uint32 // feature buckets in text order
	y    float64
	rule float64 // the rules' score and signals, for the second stage
	sig  [numKinds]float64
	// views are what the weights are fitted on: the whole text, and for a
	// long benign text also its windows, since the model reads windows
	// (linearModel.logits) and every window of a benign text is benign
	views []view
}

type view struct {
	idx []uint32
	val float32 // each feature's value: 1/sqrt(len(idx)+priorFeatures)
}

func newView(idx []uint32) view {
	if len(idx) == 0 {
		return view{}
	}
	return view{idx: idx, val: float32(1 / math.Sqrt(float64(len(idx)+priorFeatures)))}
}

// samples scores each text with the rules, which also folds it, and
// collects its feature buckets.
func samples(g *Guard, cases []injectionCase, bits uint8) []sample {
	mask := uint32(1)<<bits - 1
	sc := g.pool.Get().(*scratch)
	defer g.pool.Put(sc)
	out := make([]sample, 0, len(cases))
	for _, c := range cases {
		scanRaw(c.Text, &sc.raw) // the encoded-payload check reads its candidates
		rule := g.injectionScore(c.Text, sc, 0)
		idx := appendFeatures(nil, sc.fold.fold, sc.inj.hits)
		for i := range idx {
			idx[i] &= mask
		}
		s := sample{idx: idx, rule: rule, sig: sc.inj.signal, views: []view{newView(idx)}}
		if c.Injection {
			s.y = 1
		} else if len(idx) > windowFeatures {
			for k := 0; k+windowFeatures <= len(idx); k += windowFeatures / 2 {
				s.views = append(s.views, newView(idx[k:k+windowFeatures]))
			}
		}
		out = append(out, s)
	}
	return out
}

type weights struct {
	w    []float64
	bias float64
}

func (w *weights) viewLogit(v *view) float64 {
	z := w.bias
	for _, i := range v.idx {
		z += w.w[i] * float64(v.val)
	}
	return z
}

// logits mirrors linearModel.logits in float64.
func (w *weights) logits(s *sample) (whole, window float64) {
	v := newView(s.idx)
	whole = w.viewLogit(&v)
	window = whole
	if n := len(s.idx); n > windowFeatures {
		window = math.Inf(-1)
		for k := 0; k+windowFeatures <= n; k++ {
			v := newView(s.idx[k : k+windowFeatures])
			window = max(window, w.viewLogit(&v))
		}
	}
	return whole, window
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

// fit trains logistic regression with AdaGrad and L2, visiting the views in
// a fixed pseudo-random order so the result is reproducible.
func fit(data []sample, bits uint8, seed uint64) *weights {
	w := &weights{w: make([]float64, 1<<bits)}
	g2 := make([]float64, 1<<bits)
	var gb float64
	type ref struct{ s, v int }
	var order []ref
	for i := range data {
		for j := range data[i].views {
			order = append(order, ref{i, j})
		}
	}
	r := rand.New(rand.NewPCG(seed, 7))
	for range trainEpochs {
		r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, k := range order {
			s, v := &data[k.s], &data[k.s].views[k.v]
			grad := sigmoid(w.viewLogit(v)) - s.y
			for _, i := range v.idx {
				gi := grad*float64(v.val) + trainL2*w.w[i]
				g2[i] += gi * gi
				w.w[i] -= trainRate * gi / math.Sqrt(g2[i]+1e-8)
			}
			gb += grad * grad
			w.bias -= trainRate * grad / math.Sqrt(gb+1e-8)
		}
	}
	return w
}

// stack fits the second stage on out-of-fold model logits (a model's
// logits on its own training text would be overconfident): logistic
// regression by Newton's method, with a little ridge so that a signal
// kind no training text shows keeps a zero weight.
func stack(data []sample, oof [][2]float64) (p [nStack]float64) {
	for range 25 {
		var grad [nStack]float64
		var hess [nStack][nStack]float64
		for i := range data {
			x := stackInputs(&data[i], oof[i])
			q := sigmoid(dot(p, x))
			e := q - data[i].y
			for j := range x {
				grad[j] += e * x[j]
				for k := range x {
					hess[j][k] += q * (1 - q) * x[j] * x[k]
				}
			}
		}
		for j := range p {
			grad[j] += stackRidge * p[j]
			hess[j][j] += stackRidge
		}
		step := solve(hess, grad)
		for j := range p {
			p[j] -= step[j]
		}
		// monotone: more rule evidence, or a higher model logit, never
		// lowers the probability. Unconstrained, the fit gives the
		// override signal a negative weight (its false alarms on text
		// about attacks outweigh it on the blind sets), and "Ignorez
		// toutes les instructions précédentes." then scores 0.37.
		for _, j := range monotone {
			p[j] = max(p[j], 0)
		}
	}
	return p
}

// monotone are the second-stage parameters held at zero or above: a, b, d
// and every signal kind's weight.
var monotone = func() []int {
	m := []int{0, 1, 3}
	for k := range numKinds {
		m = append(m, 6+k)
	}
	return m
}()

// solve returns x with h·x = g, by Gaussian elimination with partial
// pivoting (h is symmetric positive definite thanks to the ridge).
func solve(h [nStack][nStack]float64, g [nStack]float64) [nStack]float64 {
	for c := range nStack {
		piv := c
		for r := c + 1; r < nStack; r++ {
			if math.Abs(h[r][c]) > math.Abs(h[piv][c]) {
				piv = r
			}
		}
		h[c], h[piv] = h[piv], h[c]
		g[c], g[piv] = g[piv], g[c]
		for r := c + 1; r < nStack; r++ {
			f := h[r][c] / h[c][c]
			for k := c; k < nStack; k++ {
				h[r][k] -= f * h[c][k]
			}
			g[r] -= f * g[c]
		}
	}
	var x [nStack]float64
	for r := nStack - 1; r >= 0; r-- {
		v := g[r]
		for k := r + 1; k < nStack; k++ {
			v -= h[r][k] * x[k]
		}
		x[r] = v / h[r][r]
	}
	return x
}

// stackInputs are the second stage's inputs in the order of its
// parameters.
func stackInputs(s *sample, oof [2]float64) (x [nStack]float64) {
	long, short := lengthTerms(len(s.idx))
	x[0], x[1], x[2], x[3], x[4], x[5] = ruleLogit(s.rule), oof[0], 1, oof[1], long, short
	copy(x[6:], s.sig[:])
	return x
}

func dot(p, x [nStack]float64) float64 {
	z := 0.0
	for j := range p {
		z += p[j] * x[j]
	}
	return z
}

// train builds the whole model from cases: out-of-fold logits for the
// second stage, then the weights on everything, quantised to int8.
func train(g *Guard, cases []injectionCase, bits uint8) []byte {
	data := samples(g, cases, bits)
	oof := make([][2]float64, len(data))
	for f := range trainFolds {
		var tr []sample
		for i := range data {
			if i%trainFolds != f {
				tr = append(tr, data[i])
			}
		}
		w := fit(tr, bits, uint64(f+1))
		for i := range data {
			if i%trainFolds == f {
				oof[i][0], oof[i][1] = w.logits(&data[i])
			}
		}
	}
	p := stack(data, oof)
	p[2] -= math.Log(operatingOdds)
	w := fit(data, bits, 99)
	maxAbs := 0.0
	for _, x := range w.w {
		maxAbs = max(maxAbs, math.Abs(x))
	}
	scale := maxAbs / float64(quantLevels)
	if scale == 0 {
		scale = 1
	}
	q := make([]int8, len(w.w))
	for i, x := range w.w {
		q[i] = int8(math.Round(x / scale))
	}
	return encodeModel(bits, scale, w.bias, p, q)
}

// encodeModel is parseModel's inverse (used by the trainer); stack holds
// a, b, c, d, e and the kinds' weights.
func encodeModel(bits uint8, scale, bias float64, stack [nStack]float64, w []int8) []byte {
	var raw bytes.Buffer
	raw.WriteString(modelMagic)
	raw.WriteByte(bits)
	for _, f := range append([]float64{scale, bias}, stack[:]...) {
		_ = binary.Write(&raw, binary.LittleEndian, math.Float32bits(float32(f)))
	}
	for _, x := range w {
		raw.WriteByte(byte(x))
	}
	var out bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&out, gzip.BestCompression)
	_, _ = zw.Write(raw.Bytes())
	_ = zw.Close()
	return out.Bytes()
}

func trainingCases(t *testing.T, files []string) []injectionCase {
	var all []injectionCase
	for _, f := range files {
		all = append(all, readJSONL[injectionCase](t, f)...)
	}
	// the same text in two files would count twice; keep the first
	seen := map[string]bool{}
	return slices.DeleteFunc(all, func(c injectionCase) bool {
		dup := seen[c.Text]
		seen[c.Text] = true
		return dup
	})
}

// TestTrainModel retrains from the committed corpora. With -update-model it
// rewrites model.bin; without, it checks model.bin is what they give, so
// the weights in the binary can always be traced to the text they came
// from. The race detector makes training slow, so CI runs this once more
// without it.
func TestTrainModel(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("trains the model: run without -race and -short")
	}
	g, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	// the rules alone, also on decoded payloads, so the result does not
	// depend on the model being replaced
	g.model = nil
	got := train(g, trainingCases(t, trainFiles(t)), trainBits)
	if *updateModel {
		if err := os.WriteFile("model.bin", got, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("model.bin: %d bytes", len(got))
		return
	}
	if !bytes.Equal(got, modelFile) {
		t.Fatal("model.bin is not what the committed corpora train; run go test -run TestTrainModel -update-model ./function/guard/")
	}
}
