package models

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"gorm.io/gorm"

	"github.com/ksherdash/ksherdash/gateway"
)

// The daily sync on River:
//
//   - sync_schedule, a periodic job (River's elected leader inserts it, so
//     it runs once per period across replicas; unique by period besides,
//     so a new leader's run-on-start does not repeat the old leader's
//     period), queues yesterday and today of every vip mid.
//   - sync_day, one job per mid and day (its sync_jobs row), unique among
//     jobs not finished: queueing a day twice while it is queued or
//     running is one pull, and once it has finished it can be queued again
//     ("Pull this day").
//
// A day's progress is its sync_jobs row: each page's orders commit with the
// new offset, so a retried or rescued job resumes where the last commit
// left it, and the row lock held while a page is fetched keeps two runs of
// one day from ever fetching the same page.

// SyncConfig configures the daily sync.
type SyncConfig struct {
	// Interval is how often yesterday and today are queued for every vip
	// mid (the periodic job); 0 queues nothing by itself (days queued by
	// hand still run).
	Interval time.Duration
	// PageSize is the rows per report request; default 40, at most 49
	// (Ksher: limit < 50).
	PageSize int
}

// syncDayAttempts is how often River tries a day before it gives up (the
// day stays failed, at its offset, until the next schedule or "Pull this
// day" queues it again). River's backoff: 1 s, 16 s, 81 s, 256 s.
const syncDayAttempts = 5

// SyncDayArgs is the River job that pulls one mid's day (its sync_jobs
// row). Only SyncJobID makes it unique; Mid and Day are for people reading
// River's tables.
type SyncDayArgs struct {
	SyncJobID int64  `json:"sync_job_id" river:"unique"`
	Mid       string `json:"mid"`
	Day       string `json:"day"`
}

// Kind is the job's kind in river_job (0011_sync_on_river.sql writes it too).
func (SyncDayArgs) Kind() string { return "sync_day" }

// InsertOpts makes the job unique while unfinished.
func (SyncDayArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: syncDayAttempts, UniqueOpts: UniqueWhileUnfinished()}
}

// SyncScheduleArgs is the periodic job that queues the days to pull.
type SyncScheduleArgs struct{}

// Kind is the job's kind in river_job.
func (SyncScheduleArgs) Kind() string { return "sync_schedule" }

// Sync pulls each vip mid's daily transactions report into the order
// cache, as River jobs.
type Sync struct {
	store   *Store
	clients *GatewayClients
	jobs    JobInserter
	log     *slog.Logger
	cfg     SyncConfig
	now     func() time.Time
}

// NewSync returns the sync service and registers its workers (and, when
// cfg.Interval > 0, its periodic job) with jobs.
func NewSync(store *Store, clients *GatewayClients, jobs *Jobs, log *slog.Logger, cfg SyncConfig) (*Sync, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 40
	}
	cfg.PageSize = min(cfg.PageSize, 49)
	s := &Sync{store: store, clients: clients, jobs: jobs, log: log.With("component", "sync"), cfg: cfg, now: time.Now}
	if err := addWorker(jobs, &syncDayWorker{sync: s}); err != nil {
		return nil, err
	}
	if err := addWorker(jobs, &syncScheduleWorker{sync: s}); err != nil {
		return nil, err
	}
	if cfg.Interval > 0 {
		// Unique by period: two inserts within one period (a new leader's
		// run on start) are one run. River truncates the job's scheduled
		// time to a multiple of the period, and a leader's runs are
		// scheduled exactly one period apart, so each lands in its own.
		byPeriod := max(cfg.Interval, time.Second)
		err := jobs.addPeriodic(river.NewPeriodicJob(river.PeriodicInterval(cfg.Interval),
			func() (river.JobArgs, *river.InsertOpts) {
				return SyncScheduleArgs{}, &river.InsertOpts{MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByPeriod: byPeriod}}
			}, &river.PeriodicJobOpts{ID: "sync_schedule", RunOnStart: true}))
		if err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Enqueue queues a mid's day: its sync_jobs row and its River job, in one
// transaction. A day already queued or running is left alone (its job is
// not inserted twice); a failed one resumes where it stopped; a done one
// restarts from the first row when e.Force or it finished before
// e.RepullDoneBefore.
func (s *Sync) Enqueue(ctx context.Context, e SyncEnqueue) (*SyncJob, error) {
	var j *SyncJob
	err := s.store.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		j, err = s.enqueueTx(ctx, tx, e)
		return err
	})
	return j, err
}

// PullDay is "Pull this day" from the sync page: the day is queued (a done
// one from its first row) and the request audited, in one transaction.
func (s *Sync) PullDay(ctx context.Context, by Actor, e SyncEnqueue) (*SyncJob, error) {
	e.Force = true
	var j *SyncJob
	err := s.store.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		if j, err = s.enqueueTx(ctx, tx, e); err != nil {
			return err
		}
		return s.store.writeAudit(tx, by, AuditSyncPull, "sync "+j.DayString(), j.Mid, map[string]any{"day": j.DayString(), "status": j.Status})
	})
	return j, err
}

func (s *Sync) enqueueTx(ctx context.Context, tx *gorm.DB, e SyncEnqueue) (*SyncJob, error) {
	j, err := s.store.enqueueSyncTx(tx, e)
	if err != nil || (j.Status != SyncQueued && j.Status != SyncRunning) {
		return j, err
	}
	res, err := s.jobs.InsertTx(ctx, tx, SyncDayArgs{SyncJobID: j.ID, Mid: j.Mid, Day: j.DayString()}, nil)
	if err != nil {
		return nil, err
	}
	// A person asked: a day whose job waits for a retry (River's backoff
	// after a failure) is pulled now.
	if e.Force && res.UniqueSkippedAsDuplicate && (res.Job.State == rivertype.JobStateRetryable || res.Job.State == rivertype.JobStateScheduled) {
		if err := s.jobs.RetryTx(ctx, tx, res.Job.ID); err != nil {
			return nil, err
		}
	}
	return j, nil
}

// Schedule queues yesterday and today (in each account's zone) for every
// mid of every vip account: today is pulled again each time, yesterday
// until it was pulled after it ended. It returns how many days are queued
// (or running) after it.
func (s *Sync) Schedule(ctx context.Context) (int, error) {
	accounts, err := s.store.Accounts(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	now := s.now()
	for _, a := range accounts {
		if a.APIKind != APIVIP {
			continue // v3 has no daily transactions report
		}
		loc := accountZone(&a)
		today := now.In(loc)
		for _, day := range []time.Time{today.AddDate(0, 0, -1), today} {
			// A day's report can still change for a while after it ends.
			dayEnd := time.Date(day.Year(), day.Month(), day.Day()+1, 1, 0, 0, 0, loc)
			repull := now.Add(-s.cfg.Interval / 2)
			if dayEnd.Before(repull) {
				repull = dayEnd
			}
			for _, m := range a.Mids {
				j, err := s.Enqueue(ctx, SyncEnqueue{AccountID: a.ID, Mid: m.Mid, Day: day, RepullDoneBefore: repull})
				if err != nil {
					return n, err
				}
				if j.Status == SyncQueued || j.Status == SyncRunning {
					n++
				}
			}
		}
	}
	return n, nil
}

// RunDay pulls the pages of day id (a sync_jobs row) until its report
// ends; attempt is River's attempt number, shown on the sync page. On a
// failure the day is marked failed where it stopped and the error returned
// (River retries, and the retry resumes there); when ctx ends (the process
// stops) the day goes back to queued. A day already done is left alone.
func (s *Sync) RunDay(ctx context.Context, id int64, attempt int) error {
	return s.runDay(ctx, id, attempt, nil)
}

// runDay is RunDay; complete finishes the River job in the transaction
// that finishes the day (nil: River finishes it after the return).
func (s *Sync) runDay(ctx context.Context, id int64, attempt int, complete func(tx *gorm.DB) error) error {
	j, err := s.store.startSyncJob(ctx, id, attempt, complete)
	if err != nil || j == nil {
		return err
	}
	log := s.log.With("mid", j.Mid, "day", j.DayString(), "attempt", attempt)
	log.Debug("Sync job started.", "offset", j.NextOffset)
	for {
		p, err := s.pullPage(ctx, j, complete)
		switch {
		case err != nil && ctx.Err() != nil:
			if rerr := s.store.releaseSyncJob(context.WithoutCancel(ctx), j); rerr != nil {
				log.Warn("Cannot put the sync job back in the queue.", slog.Any("error", rerr))
			}
			return err
		case err != nil:
			if ferr := s.store.failSyncJob(context.WithoutCancel(ctx), j, syncReason(err)); ferr != nil {
				log.Warn("Cannot record the sync failure.", slog.Any("error", ferr))
			}
			return fmt.Errorf("sync %s %s: %w", j.Mid, j.DayString(), err)
		case p.Job.Status == SyncDone:
			log.Debug("Sync job done.", "rows", p.Job.Fetched)
			return nil
		}
	}
}

// PullPage fetches and stores the next page of day j.
func (s *Sync) PullPage(ctx context.Context, j *SyncJob) (*SyncProgress, error) {
	return s.pullPage(ctx, j, nil)
}

func (s *Sync) pullPage(ctx context.Context, j *SyncJob, complete func(tx *gorm.DB) error) (*SyncProgress, error) {
	gw, a, err := s.clients.For(ctx, j.AccountID)
	if err != nil {
		return nil, err
	}
	if gw.API() != gateway.APIVIP {
		return nil, errors.New("Ksher's v3 API has no daily transactions report")
	}
	loc := accountZone(a)
	day := time.Date(j.Day.Year(), j.Day.Month(), j.Day.Day(), 12, 0, 0, 0, loc)
	size := s.cfg.PageSize
	mid := j.Mid
	return s.store.SyncPage(ctx, j, func(ctx context.Context, offset int) (*SyncPageResult, error) {
		page := &SyncPageResult{}
		n := 0
		for t, err := range gw.Transactions.List(ctx, &gateway.TransactionListParams{Mid: mid, Date: day, PageSize: size, Offset: offset}) {
			if err != nil {
				return nil, err
			}
			n++
			page.Total = int(t.Total)
			if row, ok := syncRow(a, mid, t); ok {
				page.Rows = append(page.Rows, row)
			}
			if n == size {
				// Stop before the iterator asks for the next page: that
				// one is the next SyncPage's, under its own commit.
				page.More = page.Total == 0 || offset+n < page.Total
				break
			}
		}
		page.Fetched = n
		return page, nil
	}, complete)
}

// syncDayWorker works sync_day jobs.
type syncDayWorker struct {
	river.WorkerDefaults[SyncDayArgs]
	sync *Sync
}

func (w *syncDayWorker) Work(ctx context.Context, job *river.Job[SyncDayArgs]) error {
	return w.sync.runDay(ctx, job.Args.SyncJobID, job.Attempt, func(tx *gorm.DB) error { return completeTx(ctx, tx, job) })
}

// syncScheduleWorker works the periodic sync_schedule job.
type syncScheduleWorker struct {
	river.WorkerDefaults[SyncScheduleArgs]
	sync *Sync
}

func (w *syncScheduleWorker) Work(ctx context.Context, _ *river.Job[SyncScheduleArgs]) error {
	n, err := w.sync.Schedule(ctx)
	if err != nil {
		return fmt.Errorf("queue the daily sync: %w", err)
	}
	w.sync.log.Debug("Daily sync queued.", "jobs", n)
	return nil
}

// syncRow maps one report line to an order update: PAY lines say the order
// is paid, REFUND lines (negative amounts) that it was refunded.
func syncRow(a *MerchantAccount, mid string, t *gateway.Transaction) (SyncRow, bool) {
	u := OrderUpdate{AccountID: a.ID, Mid: mid, MchOrderNo: t.MerchantOrderID, Channel: t.Channel,
		Currency: t.Currency, Source: "sync", Raw: t.Raw}
	if u.MchOrderNo == "" {
		return SyncRow{}, false
	}
	switch t.Type {
	case gateway.TransactionPayment:
		u.Status, u.RawStatus, u.KsherOrderNo, u.Amount = StatusPaid, t.RawStatus, t.KsherOrderID, t.Amount
		if !t.Time.IsZero() {
			at := t.Time
			u.PaidAt = &at
		}
		return SyncRow{Update: u}, true
	case gateway.TransactionRefund:
		amount := t.Amount
		if amount < 0 {
			amount = -amount
		}
		u.Raw = nil // the order's raw answer stays the order's, not the refund line
		return SyncRow{Update: u, RefundAmount: amount}, amount > 0
	}
	return SyncRow{}, false
}

// syncReason is the failure text shown on the sync page: the gateway's
// error texts hold no secrets.
func syncReason(err error) string {
	var ge *gateway.Error
	if errors.As(err, &ge) {
		return ge.Error()
	}
	return err.Error()
}

// accountZone is the account's time zone (Asia/Bangkok when unset or unknown).
func accountZone(a *MerchantAccount) *time.Location {
	if a != nil && a.TimeZone != "" {
		if loc, err := time.LoadLocation(a.TimeZone); err == nil {
			return loc
		}
	}
	loc, err := time.LoadLocation("Asia/Bangkok")
	if err != nil {
		return gateway.ICT
	}
	return loc
}
