package models_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"
	"gorm.io/gorm"

	"github.com/ksherdash/ksherdash/gateway"
	"github.com/ksherdash/ksherdash/gateway/sandbox"
	"github.com/ksherdash/ksherdash/migrations"
	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/models/pgtest"
)

// The daily sync against the real sandbox over HTTP, on real River
// clients: a "replica" is a River client with its own gateway clients and
// sync service over the one test database.

const syncTxnOp = "vip.finance.transactions" // the sandbox's name for the report

// testClock is the store's clock, moved by tests.
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
	return newSyncEnvOn(t, MustStore(t), mids...)
}

// newSyncEnvOn is newSyncEnv over a store of the test's own.
func newSyncEnvOn(t *testing.T, store *models.Store, mids ...string) *syncEnv {
	t.Helper()
	ctx := context.Background()
	e := &syncEnv{store: store, clock: &testClock{t: time.Now().UTC()}}
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

// replica is one process of the program: a River client (named id, n
// workers, fast polling) with its own gateway clients (no retries, so each
// sandbox call is one request) and sync service (pages of 3 rows unless
// cfg says). It is not started.
type replica struct {
	jobs *models.Jobs
	sync *models.Sync
}

func (e *syncEnv) replica(t *testing.T, id string, workers int, cfg models.SyncConfig) *replica {
	t.Helper()
	jc := testJobConfig()
	jc.ID, jc.Workers = id, workers
	jobs := MustJobs(t, e.store, jc)
	if cfg.PageSize == 0 {
		cfg.PageSize = 3
	}
	gws := models.NewGatewayClients(e.store, nil, gateway.WithMaxRetries(0), gateway.WithNoSleep())
	s, err := models.NewSync(e.store, gws, jobs, nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &replica{jobs: jobs, sync: s}
}

func (r *replica) start(t *testing.T) {
	t.Helper()
	if err := r.jobs.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
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

func (e *syncEnv) enqueue(t *testing.T, r *replica, mid string, force bool) *models.SyncJob {
	t.Helper()
	j, err := r.sync.Enqueue(context.Background(), models.SyncEnqueue{AccountID: e.account.ID, Mid: mid, Day: e.day, Force: force})
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

// waitJob waits until mid's day satisfies cond (bounded polling).
func (e *syncEnv) waitJob(t *testing.T, mid, what string, cond func(models.SyncJob) bool) models.SyncJob {
	t.Helper()
	var j models.SyncJob
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if j = e.job(t, mid); cond(j) {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s %s: day %+v, River jobs %+v", mid, what, j, e.riverJobs(t, "sync_day"))
		}
	}
}

func isDone(j models.SyncJob) bool { return j.Status == models.SyncDone }

// riverJob is a row of River's river_job, as the tests read it.
type riverJob struct {
	ID          int64
	State       string
	Attempt     int
	AttemptedBy string // the client ids, comma-separated
}

func (e *syncEnv) riverJobs(t *testing.T, kind string) []riverJob {
	t.Helper()
	var js []riverJob
	if err := e.store.ScanForTest(context.Background(), &js, `SELECT id, state, attempt, array_to_string(attempted_by, ',') AS attempted_by
		FROM river_job WHERE kind = ? ORDER BY id`, kind); err != nil {
		t.Fatal(err)
	}
	return js
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

// A fault on the report mid-way fails the day where it stopped, with the
// first page's orders kept; River retries the job, and the retry resumes
// at the next page and never asks for the first one again.
func TestSyncResumesAfterAFailureMidWay(t *testing.T) {
	ctx := context.Background()
	e := newSyncEnv(t, "mch35618")
	ids := e.paidOrders(t, "mch35618", 7) // pages of 3: 3 + 3 + 1
	r := e.replica(t, "a", 1, models.SyncConfig{})
	j := e.enqueue(t, r, "mch35618", false)
	if _, err := r.sync.PullPage(ctx, j); err != nil {
		t.Fatalf("first page: %v", err)
	}
	if got := len(e.cached(t, "mch35618")); got != 3 {
		t.Fatalf("cached after the first page = %d, want 3", got)
	}

	// The next request for the report fails; River works the day.
	if _, err := e.sb.AddFault(sandbox.Fault{Op: syncTxnOp, Kind: sandbox.Fault5xx, Status: 502, Next: 1}); err != nil {
		t.Fatal(err)
	}
	r.start(t)
	got := e.waitJob(t, "mch35618", "to fail", func(j models.SyncJob) bool { return j.Status == models.SyncFailed })
	if got.NextOffset != 3 || got.Fetched != 3 || got.Error == "" || got.Attempts != 1 {
		t.Fatalf("failed job = offset %d fetched %d error %q attempt %d; want failed at 3 with the reason, attempt 1", got.NextOffset, got.Fetched, got.Error, got.Attempts)
	}
	if n := len(e.cached(t, "mch35618")); n != 3 {
		t.Errorf("cached after the failure = %d, want the first page's 3", n)
	}

	// River's retry (attempt 2) resumes at row 3.
	got = e.waitJob(t, "mch35618", "to be done", isDone)
	if got.Fetched != 7 || got.Total == nil || *got.Total != 7 || got.Error != "" || got.Attempts != 2 {
		t.Fatalf("resumed job = %+v, want done with 7 of 7 in attempt 2", got)
	}
	// Page 1, the failed page 2, then pages 2 and 3: page 1 never again.
	if n := e.sb.Calls(syncTxnOp); n != 4 {
		t.Errorf("report requests = %d, want 4 (resumed, not restarted)", n)
	}
	if js := e.riverJobs(t, "sync_day"); len(js) != 1 || js[0].Attempt != 2 {
		t.Errorf("River jobs = %+v, want one, worked in 2 attempts", js)
	}
	cached := e.cached(t, "mch35618")
	for i, id := range ids {
		o, ok := cached[id]
		if !ok || o.Status != models.StatusPaid || o.Amount != int64(1000+i) || o.Source != "sync" || o.KsherOrderNo == "" || o.PaidAt == nil {
			t.Errorf("order %s = %+v, want paid %d from sync with Ksher's number", id, o, 1000+i)
		}
	}
}

// Two replicas drain three days at once: every page of every report is
// requested exactly once, each day is one job worked once, and both
// replicas take part. One day queued for two running replicas is pulled
// by one of them.
func TestSyncTwoReplicasNeverFetchTheSamePage(t *testing.T) {
	mids := []string{"mch35618", "mch35619", "mch35620"}
	e := newSyncEnv(t, mids...)
	rows := map[string]int{"mch35618": 5, "mch35619": 6, "mch35620": 7}
	a, b := e.replica(t, "replica-a", 1, models.SyncConfig{}), e.replica(t, "replica-b", 1, models.SyncConfig{})
	for _, m := range mids {
		e.paidOrders(t, m, rows[m])
		e.enqueue(t, a, m, false)
	}
	// Slow answers (a day takes 2-3 of them), so while one replica works
	// a day the other polls many times: both take days.
	if _, err := e.sb.AddFault(sandbox.Fault{Op: syncTxnOp, Kind: sandbox.FaultLatency, LatencyMS: 300}); err != nil {
		t.Fatal(err)
	}
	a.start(t)
	b.start(t)
	for _, m := range mids {
		j := e.waitJob(t, m, "to be done", isDone)
		if j.Fetched != rows[m] || j.Attempts != 1 {
			t.Errorf("job %s = fetched %d attempt %d, want done %d in one attempt", m, j.Fetched, j.Attempts, rows[m])
		}
		if n := len(e.cached(t, m)); n != rows[m] {
			t.Errorf("cached orders of %s = %d, want %d", m, n, rows[m])
		}
	}
	// 5 rows: 3+2; 6 rows: 3+3 (the total says it ends); 7 rows: 3+3+1.
	if n := e.sb.Calls(syncTxnOp); n != 7 {
		t.Errorf("report requests = %d, want 7: each page once", n)
	}
	by := map[string]int{}
	js := e.riverJobs(t, "sync_day")
	for _, j := range js {
		by[j.AttemptedBy]++
		if j.Attempt != 1 || strings.Contains(j.AttemptedBy, ",") {
			t.Errorf("River job %+v, want worked once by one replica", j)
		}
	}
	if len(js) != 3 || by["replica-a"] == 0 || by["replica-b"] == 0 {
		t.Errorf("days worked per replica = %v, want 3 shared by both", by)
	}

	// One day, two running replicas: one of them pulls it.
	e.sb.ResetCalls()
	before := e.riverJobs(t, "sync_day")
	e.enqueue(t, a, "mch35618", true)
	e.waitJob(t, "mch35618", "to be done again", func(j models.SyncJob) bool { return isDone(j) && len(e.riverJobs(t, "sync_day")) > len(before) })
	waitFor(t, 10*time.Second, "the job to complete", func() bool {
		js := e.riverJobs(t, "sync_day")
		return js[len(js)-1].State == string(rivertype.JobStateCompleted)
	})
	js = e.riverJobs(t, "sync_day")
	if last := js[len(js)-1]; len(js) != 4 || last.Attempt != 1 || strings.Contains(last.AttemptedBy, ",") {
		t.Errorf("re-pull jobs = %+v, want one more, worked once by one replica", js)
	}
	if n := e.sb.Calls(syncTxnOp); n != 2 {
		t.Errorf("report requests for the re-pull = %d, want 2", n)
	}
}

// The acceptance test of the periodic sync: two replicas with a 1 s
// period; River's leader inserts the schedule, so it runs once per period,
// not once per replica, and it queues the days.
func TestSyncPeriodicRunsOncePerPeriodAcrossReplicas(t *testing.T) {
	e := newSyncEnv(t, "mch35618")
	e.paidOrders(t, "mch35618", 2)
	const period = time.Second
	a := e.replica(t, "replica-a", 2, models.SyncConfig{Interval: period})
	b := e.replica(t, "replica-b", 2, models.SyncConfig{Interval: period})
	begin := time.Now()
	a.start(t)
	b.start(t)
	// Leader election takes about a second; then one run per period.
	waitFor(t, 20*time.Second, "four schedule runs", func() bool { return len(e.riverJobs(t, "sync_schedule")) >= 4 })
	elapsed := time.Since(begin)
	js := e.riverJobs(t, "sync_schedule")
	if max := int(elapsed/period) + 1; len(js) > max {
		t.Errorf("schedule runs in %v = %d, want at most %d (one per period, not one per replica)", elapsed, len(js), max)
	}
	// Keep watching for a few more periods: still one per period.
	waitFor(t, 20*time.Second, "three more runs", func() bool { return len(e.riverJobs(t, "sync_schedule")) >= len(js)+3 })
	elapsed = time.Since(begin)
	js = e.riverJobs(t, "sync_schedule")
	if max := int(elapsed/period) + 1; len(js) > max {
		t.Errorf("schedule runs in %v = %d, want at most %d", elapsed, len(js), max)
	}
	// The schedule queued yesterday and today, and River pulled them.
	today, yesterday := e.day.Format(time.DateOnly), e.day.AddDate(0, 0, -1).Format(time.DateOnly)
	waitFor(t, 20*time.Second, "both days pulled", func() bool {
		js, err := e.store.SyncJobs(context.Background(), []string{"mch35618"}, 10)
		if err != nil || len(js) != 2 {
			return false
		}
		days := map[string]bool{}
		for _, j := range js {
			days[j.DayString()] = j.Status == models.SyncDone || j.Fetched > 0
		}
		return days[today] && days[yesterday]
	})
	if n := len(e.cached(t, "mch35618")); n != 2 {
		t.Errorf("cached orders = %d, want the 2 paid today", n)
	}
}

// The acceptance test of the per-day job: queued twice while unfinished it
// is one job (before it runs and while it runs), worked once by one of two
// replicas; once finished, the same day can be queued again ("Pull this
// day") and is pulled again.
func TestSyncDayJobIsUniqueWhileUnfinished(t *testing.T) {
	ctx := context.Background()
	e := newSyncEnv(t, "mch35618")
	e.paidOrders(t, "mch35618", 5) // 2 pages
	a, b := e.replica(t, "replica-a", 2, models.SyncConfig{}), e.replica(t, "replica-b", 2, models.SyncConfig{})
	j1 := e.enqueue(t, a, "mch35618", true)
	j2 := e.enqueue(t, b, "mch35618", true)
	if j1.ID != j2.ID || j2.Status != models.SyncQueued {
		t.Fatalf("queued twice = rows %d and %d (%s), want one queued row", j1.ID, j2.ID, j2.Status)
	}
	if js := e.riverJobs(t, "sync_day"); len(js) != 1 {
		t.Fatalf("River jobs after queueing twice = %+v, want one", js)
	}
	// While it runs (its first page takes 3 s), queueing it again is
	// still that job.
	if _, err := e.sb.AddFault(sandbox.Fault{Op: syncTxnOp, Kind: sandbox.FaultLatency, LatencyMS: 3000, Next: 1}); err != nil {
		t.Fatal(err)
	}
	a.start(t)
	b.start(t)
	e.waitJob(t, "mch35618", "to run", func(j models.SyncJob) bool { return j.Status == models.SyncRunning })
	if j, err := b.sync.PullDay(ctx, models.Actor{Email: "fin@example.com"}, models.SyncEnqueue{AccountID: e.account.ID, Mid: "mch35618", Day: e.day}); err != nil || j.Status != models.SyncRunning {
		t.Fatalf("queueing the running day = %+v, %v; want it running, left alone", j, err)
	}
	if js := e.riverJobs(t, "sync_day"); len(js) != 1 {
		t.Fatalf("River jobs after queueing a running day = %+v, want one", js)
	}
	e.waitJob(t, "mch35618", "to be done", isDone)
	// The job finished in the transaction that finished the day (read
	// after it, never running still): a day queued from now on is a new
	// job, not a duplicate of one about to end.
	if js := e.riverJobs(t, "sync_day"); js[0].State != string(rivertype.JobStateCompleted) || js[0].Attempt != 1 || strings.Contains(js[0].AttemptedBy, ",") {
		t.Errorf("River job once the day is done = %+v, want completed, worked once by one replica", js[0])
	}
	if n := e.sb.Calls(syncTxnOp); n != 2 {
		t.Errorf("report requests = %d, want 2: the day pulled once", n)
	}

	// Finished: the scheduler's rule leaves a day just pulled alone, and
	// "Pull this day" queues it again, as a new job, pulled again.
	if j := e.enqueue(t, a, "mch35618", false); j.Status != models.SyncDone || len(e.riverJobs(t, "sync_day")) != 1 {
		t.Fatalf("scheduler's queueing of a day just pulled = %s, %d jobs; want done, left alone", j.Status, len(e.riverJobs(t, "sync_day")))
	}
	e.clock.Advance(time.Minute)
	if j := e.enqueue(t, b, "mch35618", true); j.Status != models.SyncQueued || j.NextOffset != 0 {
		t.Fatalf("queued again = %s at %d, want queued from the first row", j.Status, j.NextOffset)
	}
	waitFor(t, 20*time.Second, "the second job to complete", func() bool {
		js := e.riverJobs(t, "sync_day")
		return len(js) == 2 && js[1].State == string(rivertype.JobStateCompleted)
	})
	if j := e.job(t, "mch35618"); j.Status != models.SyncDone || j.Fetched != 5 {
		t.Errorf("day after the second pull = %s fetched %d, want done 5", j.Status, j.Fetched)
	}
	if n := e.sb.Calls(syncTxnOp); n != 4 {
		t.Errorf("report requests = %d, want 4: the day pulled twice", n)
	}
}

// River may run one job twice at once (it rescues a job that ran past its
// limit, whose worker may only be slow): the two runs take turns on the
// day's row, so each page is fetched once, and a run that starts after the
// day is done fetches nothing.
func TestSyncTwoRunsOfOneDayTakeTurns(t *testing.T) {
	ctx := context.Background()
	e := newSyncEnv(t, "mch35618")
	e.paidOrders(t, "mch35618", 7)
	r := e.replica(t, "a", 1, models.SyncConfig{})
	j := e.enqueue(t, r, "mch35618", false)
	if _, err := e.sb.AddFault(sandbox.Fault{Op: syncTxnOp, Kind: sandbox.FaultLatency, LatencyMS: 100}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for attempt := 1; attempt <= 2; attempt++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.sync.RunDay(ctx, j.ID, attempt); err != nil {
				t.Errorf("run %d: %v", attempt, err)
			}
		}()
	}
	wg.Wait()
	if got := e.job(t, "mch35618"); got.Status != models.SyncDone || got.Fetched != 7 {
		t.Errorf("day = %s fetched %d, want done 7", got.Status, got.Fetched)
	}
	if n := e.sb.Calls(syncTxnOp); n != 3 {
		t.Errorf("report requests = %d, want 3: each page once", n)
	}
	if err := r.sync.RunDay(ctx, j.ID, 3); err != nil || e.sb.Calls(syncTxnOp) != 3 {
		t.Errorf("a late run = %v, %d requests; want nothing done", err, e.sb.Calls(syncTxnOp))
	}
}

// The scheduler queues yesterday and today for every mid of every vip
// account, and nothing for v3 accounts (no daily report); each day is one
// River job, however often it is scheduled while queued.
func TestSyncScheduleQueuesVIPMidsOnly(t *testing.T) {
	ctx := context.Background()
	e := newSyncEnv(t, "mch35618", "mch35619")
	v3 := models.AccountInput{Name: "V3", APIKind: models.APIv3, BaseURL: "https://api.mch.ksher.net",
		Mids: []models.Mid{{Mid: "mch35000"}}, Credentials: &models.Credentials{PrivateKeys: map[string]string{"mch35000": "x"}}}
	if _, err := e.store.SaveAccount(ctx, models.SandboxSetup(), 0, v3); err != nil {
		t.Fatal(err)
	}
	r := e.replica(t, "a", 1, models.SyncConfig{Interval: time.Hour})
	n, err := r.sync.Schedule(ctx)
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
	if n, err := r.sync.Schedule(ctx); err != nil || n != 4 {
		t.Errorf("second Schedule = %d, %v; want the same 4 still queued", n, err)
	}
	if js, _ := e.store.SyncJobs(ctx, []string{"mch35618", "mch35619"}, 10); len(js) != 4 {
		t.Errorf("jobs after a second schedule = %d, want 4", len(js))
	}
	if js := e.riverJobs(t, "sync_day"); len(js) != 4 {
		t.Errorf("River jobs after two schedules = %d, want 4", len(js))
	}
}

// pullTwice pulls today's report of mid twice, as "Pull this day" would.
func (e *syncEnv) pullTwice(t *testing.T, mid string, after func(run int)) {
	t.Helper()
	r := e.replica(t, "a", 1, models.SyncConfig{})
	for run := 1; run <= 2; run++ {
		j, err := r.sync.PullDay(context.Background(), models.Actor{Email: "fin@example.com"}, models.SyncEnqueue{AccountID: e.account.ID, Mid: mid, Day: e.day})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.sync.RunDay(context.Background(), j.ID, 1); err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		e.clock.Advance(time.Minute)
		after(run)
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
	e.pullTwice(t, "mch35618", func(int) {})
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
	e.pullTwice(t, "mch35618", func(run int) {
		cached := e.cached(t, "mch35618")
		if o := cached[ids[0]]; o.Status != models.StatusRefunded || o.Refunded != 1000 || o.Refundable() != 0 {
			t.Errorf("run %d: %s = %s, refunded %d, refundable %d; want refunded 1000 of 1000", run, ids[0], o.Status, o.Refunded, o.Refundable())
		}
		if o := cached[ids[1]]; o.Status != models.StatusPartiallyRefunded || o.Refunded != 300 || o.Refundable() != 701 {
			t.Errorf("run %d: %s = %s, refunded %d, refundable %d; want 300 refunded, 701 refundable", run, ids[1], o.Status, o.Refunded, o.Refundable())
		}
	})
}

// 0011 turns the days an older version left queued or running into River
// jobs, exactly as River itself would insert them (a second insert of the
// same day is a duplicate), and they are pulled.
func TestMigrationTurnsQueuedSyncJobsIntoRiverJobs(t *testing.T) {
	ctx := context.Background()
	store, err := models.Open(ctx, pgtest.NewDatabase(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	old := mustReadAll(t)
	for name := range old {
		if name >= "0011" {
			delete(old, name)
		}
	}
	if _, err := store.Migrate(ctx, old); err != nil {
		t.Fatal(err)
	}
	store.SetSecretKey([]byte("test secret key, at least 32 characters"))
	mids := []string{"mch35618", "mch35619", "mch35620", "mch35621"}
	e := newSyncEnvOn(t, store, mids...)
	for _, m := range mids {
		e.paidOrders(t, m, 2)
	}
	day := e.day.Format(time.DateOnly)
	for i, status := range []string{models.SyncQueued, models.SyncRunning, models.SyncDone, models.SyncFailed} {
		if err := store.ExecForBench(ctx, fmt.Sprintf(`INSERT INTO sync_jobs (account_id, mid, day, status, attempts, heartbeat_at)
			VALUES (%d, '%s', '%s', '%s', 3, now() - interval '1 hour')`, e.account.ID, mids[i], day, status)); err != nil {
			t.Fatal(err)
		}
	}
	if applied, err := store.Migrate(ctx, migrations.FS); err != nil || len(applied) == 0 {
		t.Fatalf("migrate = %v, %v", applied, err)
	}
	js := e.riverJobs(t, "sync_day")
	if len(js) != 2 || js[0].State != string(rivertype.JobStateAvailable) {
		t.Fatalf("River jobs after 0011 = %+v, want 2 available (the queued and the running day)", js)
	}
	if j := e.job(t, mids[1]); j.Status != models.SyncQueued {
		t.Errorf("the running day after 0011 = %s, want queued", j.Status)
	}
	r := e.replica(t, "a", 2, models.SyncConfig{})
	for _, m := range mids[:2] {
		j := e.job(t, m)
		err := store.TransactionForTest(ctx, func(tx *gorm.DB) error {
			res, err := r.jobs.InsertTx(ctx, tx, models.SyncDayArgs{SyncJobID: j.ID, Mid: m, Day: day}, nil)
			if err == nil && !res.UniqueSkippedAsDuplicate {
				t.Errorf("River's insert of %s's day beside 0011's = a new job; want a duplicate (same unique key and states)", m)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	r.start(t)
	for _, m := range mids[:2] {
		if j := e.waitJob(t, m, "to be pulled", isDone); j.Fetched != 2 {
			t.Errorf("%s = fetched %d, want 2", m, j.Fetched)
		}
	}
	if j := e.job(t, mids[3]); j.Status != models.SyncFailed {
		t.Errorf("the failed day = %s, want left failed (the next schedule resumes it)", j.Status)
	}
}

// "Pull this day" on a day whose job waits for River's backoff (it failed
// twice: the next try is 16 s away) makes the job available at once: the
// person who asked does not wait for the backoff.
func TestSyncPullThisDayDoesNotWaitForTheBackoff(t *testing.T) {
	ctx := context.Background()
	e := newSyncEnv(t, "mch35618")
	e.paidOrders(t, "mch35618", 2)
	r := e.replica(t, "a", 1, models.SyncConfig{})
	if _, err := e.sb.AddFault(sandbox.Fault{Op: syncTxnOp, Kind: sandbox.Fault5xx, Status: 502, Next: 2}); err != nil {
		t.Fatal(err)
	}
	e.enqueue(t, r, "mch35618", false)
	r.start(t)
	waitFor(t, 20*time.Second, "the second failure", func() bool {
		js := e.riverJobs(t, "sync_day")
		return len(js) == 1 && js[0].Attempt == 2 && js[0].State == string(rivertype.JobStateRetryable)
	})
	asked := time.Now()
	if _, err := r.sync.PullDay(ctx, models.Actor{Email: "fin@example.com"}, models.SyncEnqueue{AccountID: e.account.ID, Mid: "mch35618", Day: e.day}); err != nil {
		t.Fatal(err)
	}
	j := e.waitJob(t, "mch35618", "to be done", isDone)
	if took := time.Since(asked); took > 10*time.Second || j.Attempts != 3 || j.Fetched != 2 {
		t.Errorf("after Pull this day: done in %v, attempt %d, fetched %d; want done at once (not after the 16 s backoff) in attempt 3", took, j.Attempts, j.Fetched)
	}
	if js := e.riverJobs(t, "sync_day"); len(js) != 1 {
		t.Errorf("River jobs = %+v, want the one job, retried", js)
	}
}
