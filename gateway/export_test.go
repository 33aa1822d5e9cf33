package gateway

import (
	"context"
	"time"
)

// SetNonce fixes the v3 nonce_str generator (to replay signed vectors).
func SetNonce(c *Client, f func() string) { c.opt.nonce = f }

// RecordSleeps replaces the backoff sleeper with one that records the
// requested durations and advances *clock by them.
func RecordSleeps(c *Client, advance func(time.Duration)) *[]time.Duration {
	var got []time.Duration
	c.opt.sleep = func(ctx context.Context, d time.Duration) error {
		got = append(got, d)
		if advance != nil {
			advance(d)
		}
		return ctx.Err()
	}
	c.opt.noSleep = true
	return &got
}

// Backoff exposes the retry delay for attempt.
func Backoff(c *Client, attempt int) time.Duration { return c.backoff(attempt) }
