package providers

import (
	"context"
	"errors"
	"time"
)

const reasonHedgeLost = "hedged: lost"

// hedged is Complete with hedging: the providers are tried in order as
// usual, but when one has not answered after HedgeAfter the next starts
// too. The first good answer wins and the others are canceled; their steps
// read "hedged: lost". cascade_path stays in provider order whatever the
// order the answers came in.
func (c *Cascade) hedged(ctx context.Context, req Request) (*Result, error) {
	win, resp, steps, release, err := hedge(ctx, c, func(actx context.Context, i int, steps *[]Step, lastResort bool) (*Response, error) {
		return c.turn(actx, i, req, steps, 1, lastResort)
	}, nil)
	if err != nil {
		return nil, err
	}
	release()
	return c.result(c.providers[win], resp, steps), nil
}

// hedgedStream is Stream with hedging. A stream "answers" at its first
// content, so HedgeAfter bounds the wait for that, never a long answer: the
// winner streams on alone, and its attempt context lives until Close.
func (c *Cascade) hedgedStream(ctx context.Context, req Request, idle time.Duration) (*LiveStream, error) {
	_, ls, steps, release, err := hedge(ctx, c, func(actx context.Context, i int, steps *[]Step, lastResort bool) (*LiveStream, error) {
		return c.streamTurn(actx, i, req, idle, steps, 1, lastResort)
	}, func(late *LiveStream) { late.Close() })
	if err != nil {
		return nil, err
	}
	ls.release = release
	ls.steps = steps
	return ls, nil
}

// hedge races turn over the providers: in order as usual, but when one has
// not answered after HedgeAfter the next starts too; a failure starts the
// next at once. The first good answer wins and the others are canceled;
// their steps read "hedged: lost". steps stay in provider order whatever
// the order the answers came in. Cooling providers are asked last, as in
// Complete.
//
// On success the winner's context is still live, for a stream to read on:
// the caller must call release when done with val. drop (may be nil)
// disposes of a good answer that came in after the race was decided.
// A failure is a *CascadeError.
func hedge[T any](ctx context.Context, c *Cascade,
	turn func(actx context.Context, i int, steps *[]Step, lastResort bool) (T, error), drop func(T),
) (win int, val T, steps []Step, release context.CancelFunc, err error) {
	type done struct {
		i        int
		val      T
		err      error
		steps    []Step
		canceled bool // by us, because another provider won
	}
	n := len(c.providers)
	slots := make([][]Step, n)
	cancels := make([]context.CancelFunc, n)
	win = -1
	defer func() {
		for j, cancel := range cancels {
			if cancel != nil && j != win {
				cancel()
			}
		}
	}()
	results := make(chan done, 2*n)
	next, running := 0, 0
	var cooling []int // skipped providers, asked last as in Complete
	// launch starts the next provider; a cooling one only when nothing else
	// is left or running (lastResort).
	launch := func() bool {
		if ctx.Err() != nil {
			return false
		}
		lastResort := next >= n
		if lastResort && (len(cooling) == 0 || running > 0) {
			return false
		}
		i := next
		if lastResort {
			i, cooling = cooling[0], cooling[1:]
		} else {
			next++
		}
		actx, cancel := context.WithCancel(ctx)
		if prev := cancels[i]; prev != nil {
			prev()
		}
		cancels[i] = cancel
		running++
		go func() {
			var steps []Step
			v, err := turn(actx, i, &steps, lastResort)
			results <- done{i: i, val: v, err: err, steps: steps, canceled: actx.Err() != nil && ctx.Err() == nil}
		}()
		return true
	}
	stopOthers := func(except int) {
		for j, cancel := range cancels {
			if j != except && cancel != nil {
				cancel()
			}
		}
	}

	launch()
	timer := time.NewTimer(c.hedgeAfter)
	defer timer.Stop()
	var blocked *Error
	for running > 0 {
		select {
		case d := <-results:
			running--
			slots[d.i] = append(slots[d.i], d.steps...)
			switch {
			case win >= 0 || blocked != nil:
				// A loser coming back after the race was decided.
				if d.err == nil && drop != nil {
					drop(d.val)
				}
				if (d.canceled || d.err == nil) && len(d.steps) > 0 {
					r := reasonHedgeLost
					last := &slots[d.i][len(slots[d.i])-1]
					last.Status, last.Reason = StepFailed, &r
				}
			case errors.Is(d.err, errCooling):
				// Nothing was called: move on at once.
				cooling = append(cooling, d.i)
				launch()
				continue
			case d.err == nil:
				win, val = d.i, d.val
				stopOthers(d.i)
			default:
				if pe, ok := errors.AsType[*Error](d.err); ok && pe.Kind == KindSafety {
					blocked = pe
					stopOthers(d.i)
					continue
				}
				// A failure falls over at once, as without hedging.
				if launch() {
					timer.Reset(c.hedgeAfter)
				}
			}
		case <-timer.C:
			if win < 0 && blocked == nil && launch() {
				timer.Reset(c.hedgeAfter)
			}
		}
	}

	for _, s := range slots {
		steps = append(steps, s...)
	}
	switch {
	case win >= 0:
		return win, val, steps, cancels[win], nil
	case blocked != nil:
		err = &CascadeError{Steps: steps, Blocked: blocked}
	case ctx.Err() != nil:
		err = stopped(ctx, steps)
	default:
		err = &CascadeError{Steps: steps}
	}
	var zero T
	return -1, zero, steps, nil, err
}
