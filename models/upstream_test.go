package models_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/models"
)

// Callers waiting for Ksher hold no pooled connection: with more hanging
// calls (on distinct keys) than the pool has connections, the database still
// answers everyone else at once.
func TestUpstreamHangingCallsLeaveThePoolFree(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	const hanging = 25 // the pool has 20 connections
	release := make(chan struct{})
	var started sync.WaitGroup
	var done sync.WaitGroup
	started.Add(hanging)
	for i := range hanging {
		done.Add(1)
		go func() {
			defer done.Done()
			_, err := s.Upstream(ctx, fmt.Sprintf("find:mch1:HANG-%d", i), 10*time.Second,
				func(ctx context.Context) ([]models.OrderUpdate, bool, error) {
					started.Done()
					<-release // a gateway that does not answer
					return nil, false, nil
				})
			if err != nil {
				t.Errorf("hanging lookup %d: %v", i, err)
			}
		}()
	}
	started.Wait()
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	err := s.Ping(pingCtx)
	cancel()
	close(release)
	done.Wait()
	if err != nil {
		t.Fatalf("with %d calls waiting for Ksher, the database is unreachable: %v", hanging, err)
	}
}

// A caller that died while asking Ksher (its lease ran out) is taken over:
// the next caller asks again, and the late answer of the first never moves
// the time of the last call back.
func TestUpstreamLeaseTakenOverAfterItRunsOut(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	var mu sync.Mutex
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	s.SetClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }

	const key = "find:mch1:SLOW-1"
	var calls atomic.Int32
	inFirst, releaseFirst := make(chan struct{}), make(chan struct{})
	firstDone := make(chan error, 1)
	go func() {
		_, err := s.Upstream(ctx, key, 10*time.Second, func(ctx context.Context) ([]models.OrderUpdate, bool, error) {
			calls.Add(1)
			close(inFirst)
			<-releaseFirst
			return nil, false, nil
		})
		firstDone <- err
	}()
	<-inFirst

	// While the lease holds, a second caller waits (and gives up with its context).
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err := s.Upstream(short, key, 10*time.Second, func(ctx context.Context) ([]models.OrderUpdate, bool, error) {
		calls.Add(1)
		return nil, true, nil
	})
	cancel()
	if err == nil || calls.Load() != 1 {
		t.Fatalf("second caller during the lease: err %v, calls %d; want it to wait, not ask", err, calls.Load())
	}

	advance(models.UpstreamLease + time.Second)
	res, err := s.Upstream(ctx, key, 10*time.Second, func(ctx context.Context) ([]models.OrderUpdate, bool, error) {
		calls.Add(1)
		return nil, true, nil
	})
	if err != nil || !res.Called || calls.Load() != 2 {
		t.Fatalf("after the lease ran out: %+v, %v, calls %d; want the lease taken over", res, err, calls.Load())
	}
	takeover := res.CalledAt

	advance(-time.Minute) // the first caller's clock reading is older than the takeover's
	close(releaseFirst)
	if err := <-firstDone; err != nil {
		t.Fatalf("first caller: %v", err)
	}
	at, found, err := s.LastUpstreamCall(ctx, key)
	if err != nil || !at.Equal(takeover) || !found {
		t.Errorf("last call = %v found %v (%v); want the takeover's %v and its found kept", at, found, err, takeover)
	}
}

// A call that panics lets the next caller in at once instead of after the
// lease, but is recorded: Ksher may have been asked, so the gap holds.
func TestUpstreamPanicReleasesTheLease(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	var mu sync.Mutex
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	s.SetClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	const key = "find:mch1:PANIC-1"
	func() {
		defer func() { _ = recover() }()
		_, _ = s.Upstream(ctx, key, 10*time.Second, func(ctx context.Context) ([]models.OrderUpdate, bool, error) {
			panic("boom")
		})
	}()
	short, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ask := func() (models.UpstreamResult, error) {
		return s.Upstream(short, key, 10*time.Second, func(ctx context.Context) ([]models.OrderUpdate, bool, error) {
			return nil, true, nil
		})
	}
	if res, err := ask(); err != nil || res.Called {
		t.Errorf("within the gap after a panicking call: %+v, %v; want no call (the panic counts as one)", res, err)
	}
	mu.Lock()
	now = now.Add(11 * time.Second)
	mu.Unlock()
	if res, err := ask(); err != nil || !res.Called {
		t.Errorf("after the gap: %+v, %v; want the next caller to ask at once, not after the lease", res, err)
	}
}

// The call is cut off minGap before its lease ends, so a caller that takes
// the lease over never asks Ksher within minGap of the last query.
func TestUpstreamCallEndsBeforeItsLease(t *testing.T) {
	s := MustStore(t)
	var deadline time.Time
	var ok bool
	start := time.Now()
	_, _ = s.Upstream(context.Background(), "find:mch1:DEADLINE-1", 10*time.Second, func(ctx context.Context) ([]models.OrderUpdate, bool, error) {
		deadline, ok = ctx.Deadline()
		return nil, true, nil
	})
	if want := start.Add(models.UpstreamLease - 10*time.Second); !ok || deadline.After(want.Add(time.Second)) {
		t.Errorf("call deadline = %v (set %v), want at most lease - gap = %v", deadline, ok, want)
	}
}
