package models

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"

	"gorm.io/gorm"
)

// UpstreamResult tells what Upstream did.
type UpstreamResult struct {
	Called   bool      // this caller asked Ksher
	CalledAt time.Time // when Ksher last answered (or failed to answer) about key
	Found    bool      // whether that call found something
}

// UpstreamLease is how long a caller may hold the right to ask Ksher about a
// key before another caller may take it over (a replica that died during the
// call). The call itself is cut off minGap before the lease ends (a vip
// search asks up to five order kinds, 8 s each), so a takeover never asks
// Ksher sooner than minGap after the last query of the caller before it.
// Lease times come from the replica's clock, like the gap's: replicas are
// expected to keep their clocks in sync (NTP), far within these margins.
const UpstreamLease = 60 * time.Second

// Waiting for the caller in flight: first look again soon (most Ksher answers
// take tens of milliseconds), then back off.
const (
	upstreamPollFirst = 10 * time.Millisecond
	upstreamPollMax   = 200 * time.Millisecond
)

// Upstream asks Ksher about key at most once per minGap, across every
// replica. One caller at a time holds a lease on key (a row in
// upstream_leases, taken and released by short statements, so no pooled
// connection is held while Ksher is asked); the others wait for it and then
// find its answer in the cache instead of asking again. call returns what
// Ksher said; its updates are stored, with the time of the call and the
// release of the lease, in one transaction. found reports whether Ksher knew
// the order. A failed call is recorded too (Ksher may have counted it), so
// no waiter asks again before the gap; its updates are dropped.
func (s *Store) Upstream(ctx context.Context, key string, minGap time.Duration,
	call func(ctx context.Context) (updates []OrderUpdate, found bool, err error)) (UpstreamResult, error) {
	holder := leaseHolder()
	wait := upstreamPollFirst
	for {
		res, fresh, err := s.lastCall(ctx, key, minGap)
		if err != nil || fresh {
			return res, err
		}
		got, err := s.takeLease(ctx, key, holder)
		if err != nil {
			// The lease may have been taken even so (the answer was lost
			// when ctx ended): give it back, or callers wait out the lease.
			return UpstreamResult{}, errors.Join(err, s.releaseLease(context.WithoutCancel(ctx), key, holder))
		}
		if got {
			break
		}
		select {
		case <-ctx.Done():
			return UpstreamResult{}, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, upstreamPollMax)
	}
	// The caller before us may have finished between our look and our
	// lease: look once more, now that nobody else can ask.
	res, fresh, err := s.lastCall(ctx, key, minGap)
	if err != nil || fresh {
		return res, errors.Join(err, s.releaseLease(context.WithoutCancel(ctx), key, holder))
	}
	finished := false
	defer func() {
		if !finished { // call panicked: Ksher may have been asked; record it and let the next caller in
			bg := context.WithoutCancel(ctx)
			_ = s.recordCall(bg, key, s.now())
			_ = s.releaseLease(bg, key, holder)
		}
	}()
	callCtx := ctx
	if minGap < UpstreamLease {
		var cancel context.CancelFunc
		callCtx, cancel = context.WithTimeout(ctx, UpstreamLease-minGap)
		defer cancel()
	}
	updates, found, callErr := call(callCtx)
	var na *notAskedError
	if errors.As(callErr, &na) {
		// call decided not to ask Ksher after all: nothing to record, and
		// the next caller may ask at once.
		finished = true
		return res, errors.Join(na.err, s.releaseLease(context.WithoutCancel(ctx), key, holder))
	}
	// Ksher counts the query when it receives it, at some time before its
	// answer (or our timeout): the gap runs from now, so that the next query
	// reaches Ksher at least minGap after this one.
	res = UpstreamResult{Called: true, CalledAt: s.now(), Found: found && callErr == nil}
	if callErr != nil {
		updates = nil
	}
	// Ksher was asked whatever happened to our request meanwhile: record it
	// even when ctx has ended.
	finished = true
	bg := context.WithoutCancel(ctx)
	if err := s.finishUpstream(bg, key, holder, res, updates); err != nil {
		// Storing the answer failed: still record that Ksher was asked, and
		// let the waiters go (they will find no fresh answer and ask later).
		return res, errors.Join(callErr, err, s.recordCall(bg, key, res.CalledAt), s.releaseLease(bg, key, holder))
	}
	return res, callErr
}

// lastCall reports the last call about key, and whether it is fresh: less
// than minGap ago, so its answer (in the cache) stands.
func (s *Store) lastCall(ctx context.Context, key string, minGap time.Duration) (UpstreamResult, bool, error) {
	at, found, err := s.LastUpstreamCall(ctx, key)
	if err != nil {
		return UpstreamResult{}, false, err
	}
	res := UpstreamResult{CalledAt: at, Found: found}
	return res, !at.IsZero() && s.now().Sub(at) < minGap, nil
}

// takeLease takes the lease on key for holder when nobody holds it or its
// holder's lease ran out. One statement, so two callers cannot both win.
func (s *Store) takeLease(ctx context.Context, key, holder string) (bool, error) {
	now := s.now()
	var got []string
	err := s.db.WithContext(ctx).Raw(`INSERT INTO upstream_leases (key, holder, until) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET holder = EXCLUDED.holder, until = EXCLUDED.until
		WHERE upstream_leases.until <= ?
		RETURNING holder`, key, holder, now.Add(UpstreamLease), now).Scan(&got).Error
	return len(got) == 1, err
}

func (s *Store) releaseLease(ctx context.Context, key, holder string) error {
	return s.db.WithContext(ctx).Exec("DELETE FROM upstream_leases WHERE key = ? AND holder = ?", key, holder).Error
}

// finishUpstream records the call, stores what Ksher said and releases the
// lease, all at once: a waiter that finds the lease free finds the answer.
// A late finisher (its lease was taken over) never moves the call time back.
func (s *Store) finishUpstream(ctx context.Context, key, holder string, res UpstreamResult, updates []OrderUpdate) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(`INSERT INTO upstream_calls (key, called_at, found) VALUES (?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET called_at = GREATEST(upstream_calls.called_at, EXCLUDED.called_at),
				found = CASE WHEN EXCLUDED.called_at >= upstream_calls.called_at THEN EXCLUDED.found ELSE upstream_calls.found END`, key, res.CalledAt, res.Found).Error; err != nil {
			return err
		}
		for _, u := range updates {
			if _, _, err := s.upsertOrderTx(tx, u); err != nil {
				return err
			}
		}
		return tx.Exec("DELETE FROM upstream_leases WHERE key = ? AND holder = ?", key, holder).Error
	})
}

func (s *Store) recordCall(ctx context.Context, key string, at time.Time) error {
	return s.db.WithContext(ctx).Exec(`INSERT INTO upstream_calls (key, called_at, found) VALUES (?, ?, false)
		ON CONFLICT (key) DO UPDATE SET called_at = GREATEST(upstream_calls.called_at, EXCLUDED.called_at)`, key, at).Error
}

// notAskedError is returned by an Upstream call that chose not to ask Ksher
// (a search whose lookup budget is spent): Upstream records no call, so
// nobody waits out QueryGap for a question that was never asked.
type notAskedError struct{ err error }

func (e *notAskedError) Error() string { return e.err.Error() }
func (e *notAskedError) Unwrap() error { return e.err }

// leaseHolder names one Upstream call, unique across replicas.
func leaseHolder() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
