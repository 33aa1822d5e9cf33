package models_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/gateway"
	"github.com/ksherdash/ksherdash/gateway/sandbox"
	"github.com/ksherdash/ksherdash/handlers"
	"github.com/ksherdash/ksherdash/models"
)

// The daily sync against the real sandbox over HTTP: the jobs' rules
// (claims, page commits, heartbeats) are models'; the worker that drives
// them is handlers.SyncWorker, the one the program runs.

const syncTxnOp = "vip.finance.transactions" // the sandbox's name for the report

// testClock is the store's clock, moved by tests (heartbeats go stale).
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type syncEnv struct {
	store   *models.Store
	clock   *testClock
	sb      *sandbox.Sandbox
	account *models.MerchantAccount
	client  *gateway.Client // the merchant's own client, to create orders
	day     time.Time       // today in Bangkok, the sandbox's report day
}

func newSyncEnv(t *testing.T, mids ...string) *syncEnv {
	t.Helper()
	ctx := context.Background()
	e := &syncEnv{store: MustStore(t), clock: &testClock{t: time.Now().UTC()}}
	e.store.SetClock(e.clock.Now)
	discard := slog.New(slog.DiscardHandler)
	sb, err := sandbox.New(sandbox.Config{Token: "sync-token", Mids: mids, SpeedFactor: 0.001, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	e.sb = sb
	mux := http.NewServeMux()
	mux.Handle("/sandbox/", http.StripPrefix("/sandbox", sb))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	in := models.AccountInput{Name: "Sync", APIKind: models.APIVIP, BaseURL: srv.URL + "/sandbox", Sandbox: true,
		Credentials: &models.Credentials{Token: "sync-token"}}
	for _, m := range mids {
		in.Mids = append(in.Mids, models.Mid{Mid: m})
	}
	if e.account, err = e.store.SaveAccount(ctx, models.SandboxSetup(), 0, in); err != nil {
		t.Fatal(err)
	}
	if e.client, err = gateway.New(gateway.Config{Kind: gateway.APIVIP, BaseURL: srv.URL + "/sandbox", Token: "sync-token", Mids: mids},
		gateway.WithLogger(discard), gateway.WithNoSleep()); err != nil {
		t.Fatal(err)
	}
	bkk, err := time.LoadLocation("Asia/Bangkok")
	if err != nil {
		t.Fatal(err)
	}
	e.day = time.Now().In(bkk)
	return e
}

// worker is one replica's worker: its own gateway clients, no retries (so
// each sandbox call is one request), pages of 3 rows.
func (e *syncEnv) worker() *handlers.SyncWorker {
	gws := models.NewGatewayClients(e.store, nil, gateway.WithMaxRetries(0), gateway.WithNoSleep())
	return handlers.NewSyncWorker(e.store, gws, nil, handlers.SyncConfig{PageSize: 3})
}

// paidOrders creates n orders on mid through the merchant's client and
// pays them in the sandbox; their amounts are 1000+i satang.
func (e *syncEnv) paidOrders(t *testing.T, mid string, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		id := fmt.Sprintf("SYNC-%s-%d", mid, i)
		_, err := e.client.PaymentLinks.Create(context.Background(), &gateway.PaymentLinkCreateParams{Mid: mid, MerchantOrderID: id,
			Amount: int64(1000 + i), Channels: []string{"truemoney"}, RedirectURL: "https://shop.example/ok", FailRedirectURL: "https://shop.example/fail"})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.sb.Pay(id, "truemoney"); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

func (e *syncEnv) enqueue(t *testing.T, mid string) *models.SyncJob {
	t.Helper()
	j, err := e.store.EnqueueSync(context.Background(), models.SyncEnqueue{AccountID: e.account.ID, Mid: mid, Day: e.day})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func (e *syncEnv) job(t *testing.T, mid string) models.SyncJob {
	t.Helper()
	js, err := e.store.SyncJobs(context.Background(), []string{mid}, 10)
	if err != nil || len(js) != 1 {
		t.Fatalf("jobs of %s = %v, %v; want one", mid, js, err)
	}
	return js[0]
}

// cached returns the cached orders of mid by merchant order number.
func (e *syncEnv) cached(t *testing.T, mid string) map[string]models.Order {
	t.Helper()
	out := map[string]models.Order{}
	page, err := e.store.ListOrdersPage(context.Background(), models.OrderFilter{Mids: []string{mid}, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range page.Rows {
		out[o.MchOrderNo] = o
	}
	return out
}

// A fault on the report mid-way fails the job where it stopped, with the
// first page's orders kept; the next run resumes at the next page and
// never asks for the first one again.
func TestSyncResumesAfterAFailureMidWay(t *testing.T) {
	ctx := context.Background()
	e := newSyncEnv(t, "mch35618")
	ids := e.paidOrders(t, "mch35618", 7) // pages of 3: 3 + 3 + 1
	w := e.worker()
	e.enqueue(t, "mch35618")
	j, err := e.store.ClaimSyncJob(ctx, 0)
	if err != nil || j == nil {
		t.Fatalf("claim = %v, %v", j, err)
	}
	if _, err := w.PullPage(ctx, j); err != nil {
		t.Fatalf("first page: %v", err)
	}
	if got := len(e.cached(t, "mch35618")); got != 3 {
		t.Fatalf("cached after the first page = %d, want 3", got)
	}

	// The next request for the report fails.
	if _, err := e.sb.AddFault(sandbox.Fault{Op: syncTxnOp, Kind: sandbox.Fault5xx, Status: 502, Next: 1}); err != nil {
		t.Fatal(err)
	}
	if err := w.RunJob(ctx, j); err == nil {
		t.Fatal("RunJob with a failing page = nil error")
	}
	got := e.job(t, "mch35618")
	if got.Status != models.SyncFailed || got.NextOffset != 3 || got.Fetched != 3 || got.Error == "" {
		t.Fatalf("failed job = %s offset %d fetched %d error %q; want failed at 3 with the reason", got.Status, got.NextOffset, got.Fetched, got.Error)
	}
	if n := len(e.cached(t, "mch35618")); n != 3 {
		t.Errorf("cached after the failure = %d, want the first page's 3", n)
	}

	// Queued again (the scheduler would): it resumes at row 3.
	if j := e.enqueue(t, "mch35618"); j.Status != models.SyncQueued || j.NextOffset != 3 {
		t.Fatalf("re-queued failed job = %s at %d, want queued at 3", j.Status, j.NextOffset)
	}
	ran, err := w.RunOnce(ctx)
	if !ran || err != nil {
		t.Fatalf("RunOnce = %v, %v", ran, err)
	}
	got = e.job(t, "mch35618")
	if got.Status != models.SyncDone || got.Fetched != 7 || got.Total == nil || *got.Total != 7 || got.Error != "" {
		t.Fatalf("resumed job = %+v, want done with 7 of 7", got)
	}
	// Page 1, the failed page 2, then pages 2 and 3: page 1 never again.
	if n := e.sb.Calls(syncTxnOp); n != 4 {
		t.Errorf("report requests = %d, want 4 (resumed, not restarted)", n)
	}
	cached := e.cached(t, "mch35618")
	for i, id := range ids {
		o, ok := cached[id]
		if !ok || o.Status != models.StatusPaid || o.Amount != int64(1000+i) || o.Source != "sync" || o.KsherOrderNo == "" || o.PaidAt == nil {
			t.Errorf("order %s = %+v, want paid %d from sync with Ksher's number", id, o, 1000+i)
		}
	}
}

// Two workers (two replicas) drain three jobs at once: every page of every
// report is requested exactly once, and two workers racing for one job get
// it once.
func TestSyncTwoWorkersNeverFetchTheSamePage(t *testing.T) {
	ctx := context.Background()
	mids := []string{"mch35618", "mch35619", "mch35620"}
	e := newSyncEnv(t, mids...)
	rows := map[string]int{"mch35618": 5, "mch35619": 6, "mch35620": 7}
	for _, m := range mids {
		e.paidOrders(t, m, rows[m])
		e.enqueue(t, m)
	}
	// Slow answers, so the workers overlap.
	if _, err := e.sb.AddFault(sandbox.Fault{Op: syncTxnOp, Kind: sandbox.FaultLatency, LatencyMS: 40}); err != nil {
		t.Fatal(err)
	}
	workers := []*handlers.SyncWorker{e.worker(), e.worker()}
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	jobsRun := make([]int, len(workers))
	for i, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ran, err := w.RunOnce(ctx)
				if err != nil {
					errs <- err
				}
				if !ran {
					return
				}
				jobsRun[i]++
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if jobsRun[0]+jobsRun[1] != 3 || jobsRun[0] == 0 || jobsRun[1] == 0 {
		t.Errorf("jobs run per worker = %v, want 3 shared by both", jobsRun)
	}
	// 5 rows: 3+2; 6 rows: 3+3 (the total says it ends); 7 rows: 3+3+1.
	if n := e.sb.Calls(syncTxnOp); n != 7 {
		t.Errorf("report requests = %d, want 7: each page once", n)
	}
	for _, m := range mids {
		j := e.job(t, m)
		if j.Status != models.SyncDone || j.Fetched != rows[m] || j.Attempts != 1 {
			t.Errorf("job %s = %s fetched %d attempts %d, want done %d in one attempt", m, j.Status, j.Fetched, j.Attempts, rows[m])
		}
		if n := len(e.cached(t, m)); n != rows[m] {
			t.Errorf("cached orders of %s = %d, want %d", m, n, rows[m])
		}
	}

	// One job, two workers at the same instant: one of them runs it.
	e.sb.ResetCalls()
	if _, err := e.store.EnqueueSync(ctx, models.SyncEnqueue{AccountID: e.account.ID, Mid: "mch35618", Day: e.day, Force: true}); err != nil {
		t.Fatal(err)
	}
	var ran [2]bool
	start := make(chan struct{})
	for i, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r, err := w.RunOnce(ctx)
			if err != nil {
				t.Error(err)
			}
			ran[i] = r
		}()
	}
	close(start)
	wg.Wait()
	if ran[0] == ran[1] {
		t.Errorf("ran = %v, want exactly one worker to take the job", ran)
	}
	if n := e.sb.Calls(syncTxnOp); n != 2 {
		t.Errorf("report requests for the re-pull = %d, want 2", n)
	}
}

// A worker that stops beating (it died) loses its job to another after the
// stale time; the other resumes where it stopped, and the first, if it
// wakes up, may not write. A worker still fetching holds its job's row, so
// it is never taken over mid-page, however old its heartbeat.
func TestSyncStaleJobIsTakenOver(t *testing.T) {
	ctx := context.Background()
	e := newSyncEnv(t, "mch35618")
	e.paidOrders(t, "mch35618", 7)
	a, b := e.worker(), e.worker()
	e.enqueue(t, "mch35618")
	ja, err := e.store.ClaimSyncJob(ctx, 0)
	if err != nil || ja == nil {
		t.Fatalf("claim = %v, %v", ja, err)
	}
	if _, err := a.PullPage(ctx, ja); err != nil {
		t.Fatal(err)
	}
	// A fresh heartbeat: nobody else may take it.
	if ran, err := b.RunOnce(ctx); ran || err != nil {
		t.Fatalf("RunOnce on a live job = %v, %v; want nothing to do", ran, err)
	}
	e.clock.Advance(models.DefaultSyncStale + time.Second)
	if ran, err := b.RunOnce(ctx); !ran || err != nil {
		t.Fatalf("RunOnce on a stale job = %v, %v; want it taken over", ran, err)
	}
	j := e.job(t, "mch35618")
	if j.Status != models.SyncDone || j.Fetched != 7 || j.Attempts != 2 {
		t.Fatalf("taken-over job = %s fetched %d attempts %d, want done 7 in attempt 2", j.Status, j.Fetched, j.Attempts)
	}
	if _, err := a.PullPage(ctx, ja); !errors.Is(err, models.ErrSyncLost) {
		t.Errorf("the first worker's next page = %v, want ErrSyncLost", err)
	}
	if n := e.sb.Calls(syncTxnOp); n != 3 {
		t.Errorf("report requests = %d, want 3: page 1 by the first worker, 2 and 3 by the second", n)
	}

	// Mid-page: worker a holds the row while Ksher is slow; its heartbeat
	// goes stale meanwhile, yet b's claim skips the locked row.
	e.sb.ResetCalls()
	if _, err := e.store.EnqueueSync(ctx, models.SyncEnqueue{AccountID: e.account.ID, Mid: "mch35618", Day: e.day, Force: true}); err != nil {
		t.Fatal(err)
	}
	ja, err = e.store.ClaimSyncJob(ctx, 0)
	if err != nil || ja == nil {
		t.Fatalf("claim = %v, %v", ja, err)
	}
	if _, err := e.sb.AddFault(sandbox.Fault{Op: syncTxnOp, Kind: sandbox.FaultLatency, LatencyMS: 2000, Next: 1}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := a.PullPage(ctx, ja); done <- err }()
	// a is waiting for Ksher, holding the row, once its request reached the sandbox
	// (the sandbox counts a call before it applies the latency).
	for deadline := time.Now().Add(10 * time.Second); e.sb.Calls(syncTxnOp) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the slow page never reached the sandbox")
		}
		time.Sleep(5 * time.Millisecond)
	}
	e.clock.Advance(models.DefaultSyncStale + time.Second)
	if ran, err := b.RunOnce(ctx); ran || err != nil {
		t.Errorf("RunOnce while the job's page is in flight = %v, %v; want nothing to do", ran, err)
	}
	if err := <-done; err != nil {
		t.Fatalf("slow page: %v", err)
	}
	if err := a.RunJob(ctx, ja); err != nil {
		t.Fatal(err)
	}
	if n := e.sb.Calls(syncTxnOp); n != 3 {
		t.Errorf("report requests = %d, want 3", n)
	}
}

// The scheduler queues yesterday and today for every mid of every vip
// account, and nothing for v3 accounts (no daily report).
func TestSyncScheduleQueuesVIPMidsOnly(t *testing.T) {
	ctx := context.Background()
	e := newSyncEnv(t, "mch35618", "mch35619")
	v3 := models.AccountInput{Name: "V3", APIKind: models.APIv3, BaseURL: "https://api.mch.ksher.net",
		Mids: []models.Mid{{Mid: "mch35000"}}, Credentials: &models.Credentials{PrivateKeys: map[string]string{"mch35000": "x"}}}
	if _, err := e.store.SaveAccount(ctx, models.SandboxSetup(), 0, v3); err != nil {
		t.Fatal(err)
	}
	n, err := e.worker().Schedule(ctx)
	if err != nil || n != 4 {
		t.Fatalf("Schedule = %d, %v; want 4 jobs (2 mids x 2 days)", n, err)
	}
	js, err := e.store.SyncJobs(ctx, []string{"mch35618", "mch35619", "mch35000"}, 10)
	if err != nil {
		t.Fatal(err)
	}
	days := map[string]bool{}
	for _, j := range js {
		if j.Mid == "mch35000" {
			t.Errorf("a v3 mid was queued: %+v", j)
		}
		days[j.DayString()] = true
	}
	today := e.day.Format(time.DateOnly)
	yesterday := e.day.AddDate(0, 0, -1).Format(time.DateOnly)
	if len(js) != 4 || !days[today] || !days[yesterday] {
		t.Errorf("jobs = %d on days %v, want 4 on %s and %s", len(js), days, yesterday, today)
	}
	// Queued jobs are left alone by the next schedule.
	if n, err := e.worker().Schedule(ctx); err != nil || n != 4 {
		t.Errorf("second Schedule = %d, %v; want the same 4 still queued", n, err)
	}
	if js, _ := e.store.SyncJobs(ctx, []string{"mch35618", "mch35619"}, 10); len(js) != 4 {
		t.Errorf("jobs after a second schedule = %d, want 4", len(js))
	}
}

// A day's report lists transactions, not states: an order paid and then
// refunded has a PAY line and a REFUND line. Pulling the day again (the
// scheduler re-pulls today every interval) must not take the PAY line of an
// order the cache knows as refunded for a disagreement with Ksher.
func TestSyncRepullOfARefundedOrderIsNoDrift(t *testing.T) {
	ctx := context.Background()
	e := newSyncEnv(t, "mch35618")
	ids := e.paidOrders(t, "mch35618", 2)
	full, part := ids[0], ids[1]
	for i, r := range []struct {
		id     string
		amount int64
	}{{full, 1000}, {part, 300}} {
		id := r.id
		if _, err := e.client.Refunds.Create(ctx, &gateway.RefundCreateParams{Mid: "mch35618", MerchantOrderID: &id,
			RefundID: fmt.Sprintf("RF-SYNC-%d", i), Amount: r.amount}); err != nil {
			t.Fatal(err)
		}
	}
	w := e.worker()
	for run := 1; run <= 2; run++ {
		if _, err := e.store.EnqueueSync(ctx, models.SyncEnqueue{AccountID: e.account.ID, Mid: "mch35618", Day: e.day, Force: true}); err != nil {
			t.Fatal(err)
		}
		if ran, err := w.RunOnce(ctx); !ran || err != nil {
			t.Fatalf("run %d = %v, %v", run, ran, err)
		}
		e.clock.Advance(time.Minute)
	}
	cached := e.cached(t, "mch35618")
	if o := cached[full]; o.Status != models.StatusRefunded {
		t.Errorf("%s = %s; want refunded", full, o.Status)
	}
	if o := cached[part]; o.Status != models.StatusPartiallyRefunded {
		t.Errorf("%s = %s; want partially refunded", part, o.Status)
	}
	r, err := e.store.DriftReport(ctx, models.DriftFilter{Mids: []string{"mch35618"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range r.Disagreements {
		t.Errorf("drift recorded for %s: cached %s, Ksher %s (%s, accepted %v)", d.Order.MchOrderNo, d.CachedStatus, d.ReportedStatus, d.Source, d.Accepted)
	}
}

// A REFUND line says how much was refunded: the cached order's refunded
// total follows (a full refund: all of it), so its page does not offer the
// whole amount again, and pulling the day again does not count it twice.
func TestSyncRefundLinesSetTheRefundedTotal(t *testing.T) {
	ctx := context.Background()
	e := newSyncEnv(t, "mch35618")
	ids := e.paidOrders(t, "mch35618", 2) // 1000 and 1001 satang
	for i, r := range []struct {
		id     string
		amount int64
	}{{ids[0], 1000}, {ids[1], 300}} {
		id := r.id
		if _, err := e.client.Refunds.Create(ctx, &gateway.RefundCreateParams{Mid: "mch35618", MerchantOrderID: &id,
			RefundID: fmt.Sprintf("RF-TOTAL-%d", i), Amount: r.amount}); err != nil {
			t.Fatal(err)
		}
	}
	w := e.worker()
	for run := 1; run <= 2; run++ {
		if _, err := e.store.EnqueueSync(ctx, models.SyncEnqueue{AccountID: e.account.ID, Mid: "mch35618", Day: e.day, Force: true}); err != nil {
			t.Fatal(err)
		}
		if ran, err := w.RunOnce(ctx); !ran || err != nil {
			t.Fatalf("run %d = %v, %v", run, ran, err)
		}
		e.clock.Advance(time.Minute)
		cached := e.cached(t, "mch35618")
		if o := cached[ids[0]]; o.Status != models.StatusRefunded || o.Refunded != 1000 || o.Refundable() != 0 {
			t.Errorf("run %d: %s = %s, refunded %d, refundable %d; want refunded 1000 of 1000", run, ids[0], o.Status, o.Refunded, o.Refundable())
		}
		if o := cached[ids[1]]; o.Status != models.StatusPartiallyRefunded || o.Refunded != 300 || o.Refundable() != 701 {
			t.Errorf("run %d: %s = %s, refunded %d, refundable %d; want 300 refunded, 701 refundable", run, ids[1], o.Status, o.Refunded, o.Refundable())
		}
	}
}
