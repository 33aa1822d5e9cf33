package models_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/gateway"
	"github.com/ksherdash/ksherdash/models"
)

func mustOrder(t *testing.T, s *models.Store, u models.OrderUpdate) *models.Order {
	t.Helper()
	o, _, err := s.UpsertOrder(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// 100 concurrent lookups of one uncached id make exactly one upstream call;
// everyone then finds the order in the cache.
func TestUpstreamOneCallForConcurrentLookups(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	a := MustAccount(t, s, "A", "mch1")
	var calls atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Upstream(ctx, "find:mch1:ORDER-1", 10*time.Second, func(ctx context.Context) ([]models.OrderUpdate, bool, error) {
				calls.Add(1)
				time.Sleep(50 * time.Millisecond) // Ksher takes a while
				return []models.OrderUpdate{{AccountID: a.ID, Mid: "mch1", MchOrderNo: "ORDER-1", Status: models.StatusPaid,
					Amount: 100, Source: "lookup", Checked: true}}, true, nil
			})
			if err != nil {
				errs <- err
				return
			}
			hits, err := s.FindOrdersByAnyID(ctx, []string{"mch1"}, "ORDER-1")
			if err != nil || len(hits) != 1 {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("lookup: %v", err)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("upstream calls = %d, want 1", n)
	}
}

// A burst of refreshes never asks twice within the gap, and asks again
// once the gap has passed.
func TestUpstreamRespectsGap(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	now := time.Now()
	s.SetClock(func() time.Time { return now })
	var calls int
	call := func(ctx context.Context) ([]models.OrderUpdate, bool, error) { calls++; return nil, true, nil }
	for i := 0; i < 5; i++ {
		if _, err := s.Upstream(ctx, "order:mch1:X", 10*time.Second, call); err != nil {
			t.Fatal(err)
		}
		now = now.Add(2 * time.Second) // 0, 2, 4, 6, 8 s: one call
	}
	if calls != 1 {
		t.Fatalf("calls within 10 s = %d, want 1", calls)
	}
	now = now.Add(2 * time.Second) // 10 s after the first
	res, err := s.Upstream(ctx, "order:mch1:X", 10*time.Second, call)
	if err != nil || !res.Called || calls != 2 {
		t.Errorf("after 10 s: called = %v, calls = %d, err = %v", res.Called, calls, err)
	}
}

// The same notification twice changes the order once; a stale "pending"
// after "paid" changes nothing.
func TestUpsertOrderReplayAndStaleAnswers(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	a := MustAccount(t, s, "A", "mch1")
	base := models.OrderUpdate{AccountID: a.ID, Mid: "mch1", MchOrderNo: "O-1", Amount: 5000, Source: "link"}
	pending := base
	pending.Status = models.StatusPending
	mustOrder(t, s, pending)
	paid := base
	paid.Status, paid.KsherOrderNo, paid.Notified, paid.Checked, paid.Event = models.StatusPaid, "90020240101", true, true, "notification"
	_, changed, err := s.UpsertOrder(ctx, paid)
	if err != nil || !changed {
		t.Fatalf("first notification: changed = %v, err = %v", changed, err)
	}
	paid.Event = ""
	if _, changed, _ := s.UpsertOrder(ctx, paid); changed {
		t.Errorf("replayed notification changed the order")
	}
	o, changed, _ := s.UpsertOrder(ctx, pending)
	if changed || o.Status != models.StatusPaid {
		t.Errorf("stale pending: changed = %v, status = %s; want paid kept", changed, o.Status)
	}
	hits, err := s.FindOrdersByAnyID(ctx, []string{"mch1"}, "90020240101")
	if err != nil || len(hits) != 1 || hits[0].MatchedBy != "ksher_order_no" {
		t.Errorf("find by Ksher number = %+v, %v", hits, err)
	}
	if hits, _ := s.FindOrdersByAnyID(ctx, []string{"mch2"}, "90020240101"); len(hits) != 0 {
		t.Errorf("found an order of a mid outside the search scope")
	}
}

// IsFinal is gateway's rule, for every state the cache stores; a final
// order is shown without asking Ksher, an open one only while fresh.
func TestIsFinalIsTheGatewayRule(t *testing.T) {
	now := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	long := now.Add(-time.Hour)
	for _, st := range models.OrderStatuses {
		t.Run(st, func(t *testing.T) {
			want := gateway.Status(st).Final()
			if got := models.IsFinal(st); got != want {
				t.Errorf("IsFinal(%q) = %v, gateway says %v", st, got, want)
			}
			o := models.Order{Status: st, CheckedAt: &long}
			if got := o.Fresh(now, 10*time.Second); got != want {
				t.Errorf("%s checked an hour ago: Fresh = %v, want %v", st, got, want)
			}
		})
	}
	if !models.IsFinal(models.StatusPartiallyRefunded) {
		t.Errorf("partially refunded is not final; it is kept like paid")
	}
}

func TestListOrdersKeysetPagination(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	a := MustAccount(t, s, "A", "mch1", "mch2")
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 60; i++ {
		at := t0.Add(time.Duration(i) * time.Minute)
		mid := "mch1"
		if i%3 == 0 {
			mid = "mch2"
		}
		mustOrder(t, s, models.OrderUpdate{AccountID: a.ID, Mid: mid, MchOrderNo: "O-" + string(rune('A'+i/26)) + string(rune('a'+i%26)),
			Amount: int64(100 + i), Status: models.StatusPaid, CreatedAt: &at, Source: "seed"})
	}
	seen := map[int64]bool{}
	cursor, pages := "", 0
	var last time.Time
	for {
		rows, next, err := s.ListOrders(ctx, models.OrderFilter{Mids: []string{"mch1", "mch2"}, After: cursor, Limit: 25})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range rows {
			if seen[o.ID] {
				t.Fatalf("order %d on two pages", o.ID)
			}
			if !last.IsZero() && o.CreatedAt.After(last) {
				t.Fatalf("not newest first")
			}
			seen[o.ID], last = true, o.CreatedAt
		}
		pages++
		if next == "" {
			break
		}
		cursor = next
	}
	if len(seen) != 60 || pages != 3 {
		t.Errorf("saw %d orders on %d pages, want 60 on 3", len(seen), pages)
	}
	rows, _, err := s.ListOrders(ctx, models.OrderFilter{Mids: []string{"mch2"}, Limit: 100})
	if err != nil || len(rows) != 20 {
		t.Errorf("mch2 only: %d rows, %v; want 20", len(rows), err)
	}
	min := int64(150)
	rows, _, _ = s.ListOrders(ctx, models.OrderFilter{Mids: []string{"mch1", "mch2"}, MinAmount: &min, Sort: "amount_asc", Limit: 100})
	if len(rows) != 10 || rows[0].Amount != 150 {
		t.Errorf("amount >= 150 ascending: %d rows, first %d", len(rows), rows[0].Amount)
	}
	if _, _, err := s.ListOrders(ctx, models.OrderFilter{Mids: []string{"mch1"}, After: "garbage"}); models.ErrorCode(err) != models.EINVALID {
		t.Errorf("bad cursor: %v, want EINVALID", err)
	}
}

// A failed call counts as a call: concurrent lookups while Ksher's answer
// fails (a 5xx, a timeout) wait for that call and do not ask again within
// the gap; and a call cut short by the end of the request's context (its
// deadline passed while Ksher was being asked) is recorded all the same,
// so the next request does not ask Ksher again at once.
func TestUpstreamFailedCallsAreRecorded(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	var calls atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = s.Upstream(ctx, "find:mch1:FAIL-1", 10*time.Second, func(ctx context.Context) ([]models.OrderUpdate, bool, error) {
				calls.Add(1)
				time.Sleep(50 * time.Millisecond)
				return nil, false, errors.New("502 Bad Gateway")
			})
		}()
	}
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Errorf("upstream calls while the gateway fails = %d, want 1", n)
	}
	if at, _, err := s.LastUpstreamCall(ctx, "find:mch1:FAIL-1"); err != nil || at.IsZero() {
		t.Errorf("the failed call is not recorded: %v, %v", at, err)
	}

	reqCtx, cancel := context.WithCancel(ctx)
	_, err := s.Upstream(reqCtx, "order:mch1:CUT-1", 10*time.Second, func(ctx context.Context) ([]models.OrderUpdate, bool, error) {
		cancel() // the request's deadline passes while Ksher is being asked
		return nil, false, ctx.Err()
	})
	if err == nil {
		t.Errorf("a call cut short reported no error")
	}
	if at, _, err := s.LastUpstreamCall(ctx, "order:mch1:CUT-1"); err != nil || at.IsZero() {
		t.Errorf("a call cut short by the request's end is not recorded (at %v, %v): the next request asks Ksher again at once", at, err)
	}
}

// The gap runs from when Ksher's answer arrived, not from when the
// question left: Ksher counts a query when it receives it, which may be
// any time before its answer reaches us. A slow answer (3 s) followed by a
// question 10 s after the first one left would reach Ksher 7 s after the
// first: too soon.
func TestUpstreamGapCountsFromTheAnswer(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	s.SetClock(clock)
	calls := 0
	slow := func(ctx context.Context) ([]models.OrderUpdate, bool, error) {
		calls++
		advance(3 * time.Second) // Ksher takes 3 s to answer
		return nil, true, nil
	}
	start := clock()
	if _, err := s.Upstream(ctx, "order:mch1:SLOW", 10*time.Second, slow); err != nil {
		t.Fatal(err)
	}
	advance(start.Add(10 * time.Second).Sub(clock())) // 10 s after the first question left, 7 s after its answer
	res, err := s.Upstream(ctx, "order:mch1:SLOW", 10*time.Second, slow)
	if err != nil {
		t.Fatal(err)
	}
	if res.Called || calls != 1 {
		t.Errorf("asked again 7 s after Ksher answered (called %v, %d calls)", res.Called, calls)
	}
	if want := start.Add(3 * time.Second); res.CalledAt.Sub(want).Abs() > time.Millisecond { // Postgres keeps microseconds
		t.Errorf("last call at %v, want %v (when the answer came)", res.CalledAt, want)
	}
	advance(3 * time.Second) // 10 s after the answer
	if res, err := s.Upstream(ctx, "order:mch1:SLOW", 10*time.Second, slow); err != nil || !res.Called {
		t.Errorf("10 s after the answer: called = %v, err = %v", res.Called, err)
	}
}

// An order found by two of its numbers (here its merchant number is also
// one of its refund numbers) is one hit, named by the merchant number.
func TestFindOrdersByAnyIDOneHitPerOrder(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	a := MustAccount(t, s, "A", "mch1", "mch2")
	for _, mid := range []string{"mch1", "mch2"} {
		if _, _, err := s.UpsertOrder(ctx, models.OrderUpdate{AccountID: a.ID, Mid: mid, MchOrderNo: "SAME-1", Status: models.StatusPaid,
			Amount: 100, Source: "sync", Refunds: []models.RefundSeen{{MchRefundNo: "SAME-1", Amount: 10}}}); err != nil {
			t.Fatal(err)
		}
	}
	for range 5 {
		hits, err := s.FindOrdersByAnyID(ctx, []string{"mch1", "mch2"}, "SAME-1")
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) != 2 || hits[0].Mid == hits[1].Mid {
			t.Fatalf("hits = %+v, want one per mid", hits)
		}
		for _, h := range hits {
			if h.MatchedBy != "mch_order_no" {
				t.Errorf("%s matched by %q, want mch_order_no", h.Mid, h.MatchedBy)
			}
		}
	}
}
