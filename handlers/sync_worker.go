package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ksherdash/ksherdash/gateway"
	"github.com/ksherdash/ksherdash/models"
)

// SyncStore is what the background sync needs from models.Store.
type SyncStore interface {
	Account(ctx context.Context, id int64) (*models.MerchantAccount, error)
	AccountCredentials(a *models.MerchantAccount) (*models.Credentials, error)
	Accounts(ctx context.Context) ([]models.MerchantAccount, error)
	EnqueueSync(ctx context.Context, e models.SyncEnqueue) (*models.SyncJob, error)
	ClaimSyncJob(ctx context.Context, stale time.Duration) (*models.SyncJob, error)
	SyncPage(ctx context.Context, j *models.SyncJob, fetch models.SyncFetch) (*models.SyncProgress, error)
	FailSyncJob(ctx context.Context, j *models.SyncJob, reason string) error
	ReleaseSyncJob(ctx context.Context, j *models.SyncJob) error
}

// SyncConfig configures the background sync.
type SyncConfig struct {
	// Interval is how often yesterday and today are queued for every vip
	// mid; 0 queues nothing by itself (queued jobs still run).
	Interval time.Duration
	// Poll is how often the worker looks for queued jobs (a day queued
	// from the sync page) between schedules; default 5 s.
	Poll time.Duration
	// PageSize is the rows per report request; default 40, at most 49
	// (Ksher: limit < 50).
	PageSize int
	// Stale is how long a running job may go without a heartbeat before a
	// worker takes it over; default models.DefaultSyncStale.
	Stale time.Duration
}

// SyncWorker pulls each vip mid's daily transactions report into the order
// cache. Jobs live in Postgres and are claimed with FOR UPDATE SKIP LOCKED,
// so one worker per replica is safe: no two fetch the same page.
type SyncWorker struct {
	store SyncStore
	gw    *models.GatewayClients
	log   *slog.Logger
	cfg   SyncConfig
	now   func() time.Time
}

// NewSyncWorker returns a worker; start it with Run.
func NewSyncWorker(store SyncStore, gw *models.GatewayClients, log *slog.Logger, cfg SyncConfig) *SyncWorker {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 5 * time.Second
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 40
	}
	cfg.PageSize = min(cfg.PageSize, 49)
	if cfg.Stale <= 0 {
		cfg.Stale = models.DefaultSyncStale
	}
	return &SyncWorker{store: store, gw: gw, log: log.With("component", "sync"), cfg: cfg, now: time.Now}
}

// Run schedules and runs jobs until ctx ends. A job interrupted by the end
// of ctx is put back in the queue for the next worker.
func (w *SyncWorker) Run(ctx context.Context) {
	var schedule <-chan time.Time
	if w.cfg.Interval > 0 {
		t := time.NewTicker(w.cfg.Interval)
		defer t.Stop()
		schedule = t.C
		w.schedule(ctx)
	}
	poll := time.NewTicker(w.cfg.Poll)
	defer poll.Stop()
	for {
		w.drain(ctx)
		select {
		case <-ctx.Done():
			return
		case <-schedule:
			w.schedule(ctx)
		case <-poll.C:
		}
	}
}

func (w *SyncWorker) schedule(ctx context.Context) {
	if n, err := w.Schedule(ctx); err != nil && ctx.Err() == nil {
		w.log.Warn("Cannot queue the daily sync.", slogErr(err))
	} else if n > 0 {
		w.log.Debug("Daily sync queued.", "jobs", n)
	}
}

// drain runs queued jobs until there is none left or ctx ends.
func (w *SyncWorker) drain(ctx context.Context) {
	for ctx.Err() == nil {
		ran, err := w.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			w.log.Warn("Daily sync job failed.", slogErr(err))
		}
		if !ran {
			return
		}
	}
}

// Schedule queues yesterday and today (in each account's zone) for every
// mid of every vip account: today is pulled again each time, yesterday
// until it was pulled after it ended. It returns how many jobs are queued.
func (w *SyncWorker) Schedule(ctx context.Context) (int, error) {
	accounts, err := w.store.Accounts(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	now := w.now()
	for _, a := range accounts {
		if a.APIKind != models.APIVIP {
			continue // v3 has no daily transactions report
		}
		loc := accountZone(&a)
		today := now.In(loc)
		for _, day := range []time.Time{today.AddDate(0, 0, -1), today} {
			// A day's report can still change for a while after it ends.
			dayEnd := time.Date(day.Year(), day.Month(), day.Day()+1, 1, 0, 0, 0, loc)
			repull := now.Add(-w.cfg.Interval / 2)
			if dayEnd.Before(repull) {
				repull = dayEnd
			}
			for _, m := range a.Mids {
				j, err := w.store.EnqueueSync(ctx, models.SyncEnqueue{AccountID: a.ID, Mid: m.Mid, Day: day, RepullDoneBefore: repull})
				if err != nil {
					return n, err
				}
				if j.Status == models.SyncQueued {
					n++
				}
			}
		}
	}
	return n, nil
}

// RunOnce claims one job (queued, or running with a stale heartbeat) and
// runs it to its end. ran is false when there was nothing to do.
func (w *SyncWorker) RunOnce(ctx context.Context) (ran bool, err error) {
	j, err := w.store.ClaimSyncJob(ctx, w.cfg.Stale)
	if err != nil || j == nil {
		return false, err
	}
	return true, w.RunJob(ctx, j)
}

// RunJob pulls the pages of a claimed job until the report ends. On a
// failure the job is marked failed where it stopped (the next run resumes
// there); when ctx ends it is put back in the queue.
func (w *SyncWorker) RunJob(ctx context.Context, j *models.SyncJob) error {
	log := w.log.With("mid", j.Mid, "day", j.DayString(), "attempt", j.Attempts)
	log.Debug("Sync job started.", "offset", j.NextOffset)
	for {
		p, err := w.PullPage(ctx, j)
		switch {
		case errors.Is(err, models.ErrSyncLost):
			log.Info("Sync job was taken over by another worker.")
			return nil
		case err != nil && ctx.Err() != nil:
			if rerr := w.store.ReleaseSyncJob(context.WithoutCancel(ctx), j); rerr != nil {
				log.Warn("Cannot put the sync job back in the queue.", slogErr(rerr))
			}
			return nil
		case err != nil:
			if ferr := w.store.FailSyncJob(context.WithoutCancel(ctx), j, syncReason(err)); ferr != nil {
				log.Warn("Cannot record the sync failure.", slogErr(ferr))
			}
			return fmt.Errorf("sync %s %s: %w", j.Mid, j.DayString(), err)
		case p.Job.Status == models.SyncDone:
			log.Debug("Sync job done.", "rows", p.Job.Fetched)
			return nil
		}
	}
}

// PullPage fetches and stores the next page of a claimed job.
func (w *SyncWorker) PullPage(ctx context.Context, j *models.SyncJob) (*models.SyncProgress, error) {
	gw, a, err := w.gw.For(ctx, j.AccountID)
	if err != nil {
		return nil, err
	}
	if gw.API() != gateway.APIVIP {
		return nil, errors.New("Ksher's v3 API has no daily transactions report")
	}
	loc := accountZone(a)
	day := time.Date(j.Day.Year(), j.Day.Month(), j.Day.Day(), 12, 0, 0, 0, loc)
	size := w.cfg.PageSize
	return w.store.SyncPage(ctx, j, func(ctx context.Context, offset int) (*models.SyncPageResult, error) {
		page := &models.SyncPageResult{}
		n := 0
		for t, err := range gw.Transactions.List(ctx, &gateway.TransactionListParams{Mid: j.Mid, Date: day, PageSize: size, Offset: offset}) {
			if err != nil {
				return nil, err
			}
			n++
			page.Total = int(t.Total)
			if row, ok := syncRow(a, j.Mid, t); ok {
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
	})
}

// syncRow maps one report line to an order update: PAY lines say the order
// is paid, REFUND lines (negative amounts) that it was refunded.
func syncRow(a *models.MerchantAccount, mid string, t *gateway.Transaction) (models.SyncRow, bool) {
	u := models.OrderUpdate{AccountID: a.ID, Mid: mid, MchOrderNo: t.MerchantOrderID, Channel: t.Channel,
		Currency: t.Currency, Source: "sync", Raw: t.Raw}
	if u.MchOrderNo == "" {
		return models.SyncRow{}, false
	}
	switch t.Type {
	case gateway.TransactionPayment:
		u.Status, u.RawStatus, u.KsherOrderNo, u.Amount = models.StatusPaid, t.RawStatus, t.KsherOrderID, t.Amount
		if !t.Time.IsZero() {
			at := t.Time
			u.PaidAt = &at
		}
		return models.SyncRow{Update: u}, true
	case gateway.TransactionRefund:
		amount := t.Amount
		if amount < 0 {
			amount = -amount
		}
		u.Raw = nil // the order's raw answer stays the order's, not the refund line
		return models.SyncRow{Update: u, RefundAmount: amount}, amount > 0
	}
	return models.SyncRow{}, false
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
func accountZone(a *models.MerchantAccount) *time.Location {
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
