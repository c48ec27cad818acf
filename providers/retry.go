package providers

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Retry defaults (RETRY_BACKOFF; the cap is not a setting).
const (
	DefaultRetryBackoff    = 250 * time.Millisecond
	DefaultRetryBackoffMax = 4 * time.Second
)

// minRetryTry is the least time worth giving a retry: below it the attempt
// would be cut before a real upstream could answer, so the time is better
// left to the next provider.
const minRetryTry = 50 * time.Millisecond

// errCooling marks a provider turn skipped by its breaker.
var errCooling = errors.New("provider cooling down")

const reasonCooling = "cooling down"

// retryableStatus: statuses that say "not now" rather than "not this".
func retryableStatus(status int) bool {
	return status == 408 || status == 409 || status == 429 || status >= 500
}

// retryable reports whether asking the same provider again may succeed, and
// the provider's own hint of when. A 400, a refused key, a safety block or a
// broken answer would come back the same, so they fall over at once.
func retryable(err error) (bool, time.Duration) {
	pe, ok := errors.AsType[*Error](err)
	if !ok {
		return false, 0
	}
	switch pe.Kind {
	case KindNetwork, KindTimeout:
		return true, pe.RetryAfter
	case KindStatus:
		return retryableStatus(pe.Status), pe.RetryAfter
	}
	return false, 0
}

func retryHint(err error) time.Duration {
	if pe, ok := errors.AsType[*Error](err); ok {
		return pe.RetryAfter
	}
	return 0
}

// backoff is the wait before retry n (0 for the first): exponential with
// equal jitter, so concurrent requests that failed together spread out, and
// never shorter than the provider's Retry-After.
func (c *Cascade) backoff(n int, hint time.Duration) time.Duration {
	d := c.retryBackoff << min(n, 16)
	if d <= 0 || d > c.retryBackoffMax {
		d = c.retryBackoffMax
	}
	d = d/2 + rand.N(d/2+1)
	return max(d, hint)
}

// turn is one provider's go in Complete: see retrying.
func (c *Cascade) turn(ctx context.Context, i int, req Request, steps *[]Step, left int, lastResort bool) (*Response, error) {
	var resp *Response
	err := c.retrying(ctx, i, steps, left, lastResort, func(timeout time.Duration) (err error) {
		resp, err = c.attemptFor(ctx, c.providers[i], req, steps, timeout)
		return err
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// retrying runs provider i's turn: its breaker's permission, then attempts
// with retries, each attempt's outcome reported to the breaker. attempt
// makes one call bounded by the given attempt timeout; Complete and Stream
// differ only there (a stream's attempt ends at its first content, so a
// retry can never repeat text already handed out).
//
// left counts the providers still to come, this one included, that are not
// cooling down: with retries on, a turn may use at most its share of what is
// left of the request's deadline, so the last provider still gets a fair
// try. A cooling provider gets a skipped step and errCooling.
//
// lastResort calls a cooling provider anyway, once every provider in
// service has failed (its skipped step is already recorded).
func (c *Cascade) retrying(ctx context.Context, i int, steps *[]Step, left int, lastResort bool, attempt func(timeout time.Duration) error) error {
	b, probe := c.breakerAt(i), false
	if !lastResort {
		var ok bool
		if b, probe, ok = c.admit(i, steps); !ok {
			return errCooling
		}
	}
	timeout := c.timeout
	var turnEnd time.Time
	if c.retryMax > 0 {
		if dl, ok := ctx.Deadline(); ok {
			share := time.Until(dl) / time.Duration(max(left, 1))
			turnEnd = time.Now().Add(share)
		}
	}
	for n := 0; ; n++ {
		t := timeout
		if !turnEnd.IsZero() {
			t = min(t, time.Until(turnEnd))
		}
		err := attempt(t)
		callerDone := ctx.Err() != nil
		report(b, probe, err, callerDone)
		// A failed probe has already put the provider back to cool down.
		if err == nil || callerDone || probe || n >= c.retryMax {
			return err
		}
		again, hint := retryable(err)
		if !again {
			return err
		}
		if b != nil {
			if ok, _ := b.peek(); !ok {
				return err // tripped by this or a concurrent request
			}
		}
		wait := c.backoff(n, hint)
		end := turnEnd
		if end.IsZero() {
			if dl, ok := ctx.Deadline(); ok {
				end = dl
			}
		}
		if !end.IsZero() && time.Now().Add(wait+minRetryTry).After(end) {
			return err
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return err
		case <-timer.C:
		}
	}
}

// attemptFor is attempt with a given attempt timeout.
func (c *Cascade) attemptFor(ctx context.Context, p Provider, req Request, steps *[]Step, timeout time.Duration) (*Response, error) {
	if timeout == c.timeout {
		return c.attempt(ctx, p, req, steps)
	}
	// A shortened attempt: run the same steps, then say how long it really had.
	n := len(*steps)
	actx, cancel := context.WithTimeout(ctx, timeout)
	resp, err := c.attempt(actx, p, req, steps)
	expired := errors.Is(actx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
	cancel()
	if expired {
		for i := n; i < len(*steps); i++ {
			s := &(*steps)[i]
			if s.Status == StepTimeout {
				r := fmt.Sprintf("timeout after %s", timeout.Round(time.Millisecond))
				s.Reason = &r
			}
		}
		if err != nil {
			// Ours, not the caller's: report it as an attempt timeout.
			err = &Error{Provider: p.Name(), Kind: KindTimeout, Message: "timeout", Err: context.DeadlineExceeded}
		}
	}
	return resp, err
}
