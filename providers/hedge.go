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
	type done struct {
		i        int
		resp     *Response
		err      error
		steps    []Step
		canceled bool // by us, because another provider won
	}
	n := len(c.providers)
	slots := make([][]Step, n)
	cancels := make([]context.CancelFunc, n)
	defer func() {
		for _, cancel := range cancels {
			if cancel != nil {
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
			resp, err := c.turn(actx, i, req, &steps, 1, lastResort)
			results <- done{i: i, resp: resp, err: err, steps: steps, canceled: actx.Err() != nil && ctx.Err() == nil}
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
	win := -1
	var winResp *Response
	var blocked *Error
	for running > 0 {
		select {
		case d := <-results:
			running--
			slots[d.i] = append(slots[d.i], d.steps...)
			switch {
			case win >= 0 || blocked != nil:
				// A loser coming back after the race was decided.
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
				win, winResp = d.i, d.resp
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

	var steps []Step
	for _, s := range slots {
		steps = append(steps, s...)
	}
	switch {
	case win >= 0:
		return c.result(c.providers[win], winResp, steps), nil
	case blocked != nil:
		return nil, &CascadeError{Steps: steps, Blocked: blocked}
	case ctx.Err() != nil:
		return nil, stopped(ctx, steps)
	}
	return nil, &CascadeError{Steps: steps}
}
