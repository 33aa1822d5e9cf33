package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Sync job states.
const (
	SyncQueued  = "queued"
	SyncRunning = "running"
	SyncDone    = "done"
	SyncFailed  = "failed"
)

// SyncJob is the pull of one mid's daily transactions report (vip) into
// the order cache, one page at a time: the progress row the sync page
// shows. The work itself is a River job (SyncDayArgs, sync_service.go); it
// is resumable because NextOffset is committed with each page's orders.
type SyncJob struct {
	ID         int64
	AccountID  int64
	Mid        string
	Day        time.Time // the report's day (a date, in the account's zone)
	Status     string
	NextOffset int
	Total      *int // rows in the report, once Ksher said
	Fetched    int
	Error      string
	Attempts   int // the River job's attempt that last worked on it (1: first try)
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// DayString is the job's day as YYYY-MM-DD.
func (j *SyncJob) DayString() string { return j.Day.Format(time.DateOnly) }

// SyncEnqueue asks for one mid's day to be pulled.
type SyncEnqueue struct {
	AccountID int64
	Mid       string
	Day       time.Time // its date is used
	// Force re-pulls a day already done (from the first row) or resumes a
	// failed one; without it a done job is re-pulled only when it finished
	// before RepullDoneBefore (the scheduler: today, and yesterday until
	// it is over), and a failed one is resumed.
	Force            bool
	RepullDoneBefore time.Time
}

// enqueueSyncTx records that a mid's day is to be pulled. A job already
// queued or running is left alone; a failed one resumes from where it
// stopped; a done one restarts from the first row (Force, or finished
// before RepullDoneBefore). The caller inserts the River job when the row
// it returns is queued or running (Sync.Enqueue).
func (s *Store) enqueueSyncTx(tx *gorm.DB, e SyncEnqueue) (*SyncJob, error) {
	day := time.Date(e.Day.Year(), e.Day.Month(), e.Day.Day(), 0, 0, 0, 0, time.UTC)
	now := s.now()
	repull := e.RepullDoneBefore
	if e.Force {
		repull = now.Add(time.Hour)
	}
	var j SyncJob
	// Queued or running: left alone, read without waiting for the row's
	// lock (a run holds it while Ksher answers a page; "Pull this day"
	// must not wait for that).
	err := tx.Where("mid = ? AND day = ? AND status IN ?", e.Mid, day, []string{SyncQueued, SyncRunning}).Limit(1).Find(&j).Error
	if err != nil || j.ID != 0 {
		return &j, err
	}
	err = tx.Raw(`
INSERT INTO sync_jobs (account_id, mid, day, status, created_at, updated_at)
VALUES (@account, @mid, @day, 'queued', @now, @now)
ON CONFLICT (mid, day) DO UPDATE SET
    status      = 'queued',
    account_id  = EXCLUDED.account_id,
    next_offset = CASE WHEN sync_jobs.status = 'done' THEN 0 ELSE sync_jobs.next_offset END,
    fetched     = CASE WHEN sync_jobs.status = 'done' THEN 0 ELSE sync_jobs.fetched END,
    error       = '',
    updated_at  = EXCLUDED.updated_at
WHERE sync_jobs.status = 'failed' OR (sync_jobs.status = 'done' AND sync_jobs.updated_at < @repull)
RETURNING *`, map[string]any{"account": e.AccountID, "mid": e.Mid, "day": day, "now": now, "repull": repull}).Scan(&j).Error
	if err != nil {
		return nil, fmt.Errorf("store: enqueue sync %s %s: %w", e.Mid, day.Format(time.DateOnly), err)
	}
	if j.ID == 0 { // left alone: return it as it is
		if err := tx.Where("mid = ? AND day = ?", e.Mid, day).Take(&j).Error; err != nil {
			return nil, notFoundOr(err, "Sync job")
		}
	}
	return &j, nil
}

// startSyncJob marks job id running in River attempt attempt and returns
// it; nil when there is nothing to pull (the job is done, or gone with its
// account). A day found done is finished by complete (the River job's
// completion, nil outside River) under the row's lock, so a re-pull queued
// meanwhile is either seen here or finds the job finished and inserts its
// own. A job running already is taken as it is: River runs a job at least
// once, and two runs of one job only take turns on its pages.
func (s *Store) startSyncJob(ctx context.Context, id int64, attempt int, complete func(tx *gorm.DB) error) (*SyncJob, error) {
	var j *SyncJob
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var cur SyncJob
		err := tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).Take(&cur, id).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if cur.Status == SyncDone {
			if complete != nil {
				return complete(tx)
			}
			return nil
		}
		cur.Status, cur.Attempts, cur.Error, cur.UpdatedAt = SyncRunning, attempt, "", s.now()
		j = &cur
		return tx.Model(&SyncJob{}).Where("id = ?", id).Updates(map[string]any{
			"status": cur.Status, "attempts": attempt, "error": "", "updated_at": cur.UpdatedAt}).Error
	})
	if err != nil {
		return nil, fmt.Errorf("store: start sync job %d: %w", id, err)
	}
	return j, nil
}

// SyncRow is one line of a daily transactions report, as an order update.
// RefundAmount > 0 marks a refund line: it sets the order refunded
// (partially when less than the order's amount) and applies only to orders
// already cached (the report does not say the order's amount).
type SyncRow struct {
	Update       OrderUpdate
	RefundAmount int64
}

// SyncPageResult is one page of the report.
type SyncPageResult struct {
	Rows    []SyncRow // the lines that say something about an order
	Fetched int       // lines on the page (the offset moves by this many)
	Total   int       // lines in the whole report (0: not said)
	More    bool      // another page follows
}

// SyncFetch fetches the page that starts at offset.
type SyncFetch func(ctx context.Context, offset int) (*SyncPageResult, error)

// SyncProgress says what one page did.
type SyncProgress struct {
	Job     *SyncJob
	Rows    int // rows on the page
	Changed int // orders the page changed
}

// SyncPage pulls the next page of job j: under the job's row lock it
// fetches the page at the committed offset, stores its orders, and commits
// them with the new offset, all or nothing. A failed fetch stores nothing
// and leaves the offset where it was. Holding the lock while fetching
// means no two runs of a job (River may run one twice: a rescued job whose
// worker was only slow) ever fetch the same page: the second waits, then
// reads the offset the first committed. A job found done is not fetched.
// When the day is (or becomes) done, complete runs in the same transaction:
// the River job finishes with its row (nil outside River), so a re-pull
// queued at that moment finds either a running day it may leave alone or
// a finished job and inserts its own.
func (s *Store) SyncPage(ctx context.Context, j *SyncJob, fetch SyncFetch, complete func(tx *gorm.DB) error) (*SyncProgress, error) {
	p := &SyncProgress{}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var cur SyncJob
		err := tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).Take(&cur, j.ID).Error
		if err != nil {
			return notFoundOr(err, "Sync job")
		}
		if cur.Status == SyncDone {
			p.Job = &cur
			if complete != nil {
				return complete(tx)
			}
			return nil
		}
		page, err := fetch(ctx, cur.NextOffset)
		if err != nil {
			return err
		}
		if err := setChangeSource(tx, DriftSync); err != nil {
			return err
		}
		for _, r := range page.Rows {
			changed, err := s.syncRowTx(tx, r)
			if err != nil {
				return fmt.Errorf("%s: %w", r.Update.MchOrderNo, err)
			}
			if changed {
				p.Changed++
			}
		}
		now := s.now()
		cur.NextOffset += page.Fetched
		cur.Fetched += page.Fetched
		if page.Total > 0 {
			cur.Total = &page.Total
		}
		if !page.More {
			cur.Status = SyncDone
			if cur.Total == nil || *cur.Total < cur.Fetched {
				cur.Total = &cur.Fetched
			}
		}
		cur.UpdatedAt = now
		p.Rows, p.Job = page.Fetched, &cur
		err = tx.Model(&SyncJob{}).Where("id = ?", cur.ID).Updates(map[string]any{
			"next_offset": cur.NextOffset, "fetched": cur.Fetched, "total": cur.Total, "status": cur.Status,
			"updated_at": now}).Error
		if err == nil && cur.Status == SyncDone && complete != nil {
			err = complete(tx)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: sync %s %s page at %d: %w", j.Mid, j.DayString(), j.NextOffset, err)
	}
	*j = *p.Job
	return p, nil
}

// syncRowTx stores one report line. A line that contradicts a final state
// the cache keeps is recorded as drift (a final state the cache gives up is
// recorded by the database itself).
func (s *Store) syncRowTx(tx *gorm.DB, r SyncRow) (bool, error) {
	u := r.Update
	var cur Order
	err := tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).
		Where("mid = ? AND mch_order_no = ?", u.Mid, u.MchOrderNo).Take(&cur).Error
	found := err == nil
	if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		return false, err
	}
	if r.RefundAmount > 0 {
		if !found {
			return false, nil
		}
		u.Status = StatusRefunded
		if r.RefundAmount < cur.Amount {
			u.Status = StatusPartiallyRefunded
		}
		if cur.Status == StatusRefunded && u.Status == StatusPartiallyRefunded {
			return false, nil // an earlier line of the day refunded the rest
		}
	}
	if found && r.RefundAmount == 0 && u.Status == StatusPaid && paidBefore(cur.Status) {
		// The report lists transactions: this is the payment of an order
		// refunded or reversed since (its REFUND line comes later), not a
		// disagreement. Its other facts still count.
		u.Status, u.RawStatus = "", ""
	}
	if found && u.Status != "" && u.Status != cur.Status && !acceptStatus(cur.Status, u.Status) {
		return false, s.recordDriftTx(tx, &cur, u.Status, DriftSync)
	}
	o, changed, err := s.upsertOrderTx(tx, u)
	if err != nil || r.RefundAmount == 0 {
		return changed, err
	}
	// The line says at least this much was refunded (all of it for a full
	// refund). It names no refund number, so it cannot be added to other
	// lines (a re-pull would count it twice): it only raises the total.
	refunded := min(r.RefundAmount, o.Amount)
	switch o.Status {
	case StatusRefunded:
		refunded = o.Amount
	case StatusPartiallyRefunded:
	default:
		return changed, nil
	}
	res := tx.Model(&Order{}).Where("id = ? AND refunded < ?", o.ID, refunded).Update("refunded", refunded)
	return changed || res.RowsAffected > 0, res.Error
}

// paidBefore reports whether an order in this state was paid first.
func paidBefore(status string) bool {
	return status == StatusRefunded || status == StatusPartiallyRefunded || status == StatusReversed
}

// failSyncJob marks job j failed with a reason while it is running; the
// offset stays, so the next run (River's retry, or a later queueing)
// resumes there.
func (s *Store) failSyncJob(ctx context.Context, j *SyncJob, reason string) error {
	if len(reason) > 500 {
		reason = reason[:500]
	}
	return s.db.WithContext(ctx).Model(&SyncJob{}).Where("id = ? AND status = ?", j.ID, SyncRunning).
		Updates(map[string]any{"status": SyncFailed, "error": reason, "updated_at": s.now()}).Error
}

// releaseSyncJob puts job j back in the queue while it is running (its
// worker is stopping; River retries the job).
func (s *Store) releaseSyncJob(ctx context.Context, j *SyncJob) error {
	return s.db.WithContext(ctx).Model(&SyncJob{}).Where("id = ? AND status = ?", j.ID, SyncRunning).
		Updates(map[string]any{"status": SyncQueued, "updated_at": s.now()}).Error
}

// SyncJobs returns the jobs of mids, newest day first (at most limit, default 60).
func (s *Store) SyncJobs(ctx context.Context, mids []string, limit int) ([]SyncJob, error) {
	if len(mids) == 0 {
		return nil, nil
	}
	if limit <= 0 || limit > 500 {
		limit = 60
	}
	var js []SyncJob
	err := s.db.WithContext(ctx).Where("mid IN ?", mids).Order("day DESC, mid").Limit(limit).Find(&js).Error
	return js, err
}
