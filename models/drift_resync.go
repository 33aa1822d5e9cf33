package models

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/riverqueue/river"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Drift re-sync: asking Ksher again about orders the drift page lists,
// through the order cache (Orders.Refresh, forced: final states too, never
// sooner than QueryGap after Ksher last spoke about an order, on any
// replica). One order is asked in the request (ResyncOrder); "re-sync all"
// is a River job over a drift_resyncs row, whose counts the page shows and
// polls from our database.

// Bulk re-sync states.
const (
	ResyncQueued  = "queued"
	ResyncRunning = "running"
	ResyncDone    = "done"
	ResyncFailed  = "failed"
)

// ResyncCounts is what a re-sync did.
type ResyncCounts struct {
	Asked   int // orders Ksher was asked about
	Skipped int // not asked: Ksher spoke about them under QueryGap ago
	Changed int // orders whose cached state changed
	// Confirmed counts paid orders without a notification that Ksher said
	// are paid, with the cached amount: they leave that list.
	Confirmed int
	Failed    int // orders Ksher could not be asked about
}

func (c ResyncCounts) details() map[string]any {
	return map[string]any{"asked": c.Asked, "skipped": c.Skipped, "changed": c.Changed, "confirmed": c.Confirmed, "failed": c.Failed}
}

// BulkResync is one "re-sync all": the orders the page showed, in order,
// how many are settled (OrderIDs[Done] is the next), and the counts so far.
type BulkResync struct {
	ID       int64
	Scope    string   // the page's mid, or "all"
	Mids     []string `gorm:"serializer:json"` // the mids the orders are looked up in
	OrderIDs []int64  `gorm:"serializer:json"`
	Done     int
	State    string
	ResyncCounts
	Error       string
	RequestedBy *int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// TableName maps BulkResync to drift_resyncs.
func (BulkResync) TableName() string { return "drift_resyncs" }

// Total is how many orders the re-sync asks about.
func (r *BulkResync) Total() int { return len(r.OrderIDs) }

// Active reports whether the re-sync is still to finish.
func (r *BulkResync) Active() bool { return r.State == ResyncQueued || r.State == ResyncRunning }

// DriftResyncArgs is the River job of one bulk re-sync, unique while
// unfinished. The effect is reads of Ksher and counts committed with the
// position, so a retried or duplicated run neither repeats a count nor
// skips an order.
type DriftResyncArgs struct {
	ResyncID int64 `json:"resync_id" river:"unique"`
}

// Kind is the job's kind in river_job.
func (DriftResyncArgs) Kind() string { return "drift_resync" }

// InsertOpts makes the job unique while unfinished.
func (DriftResyncArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 3, UniqueOpts: UniqueWhileUnfinished()}
}

// DriftResyncs is the drift page's re-sync service.
type DriftResyncs struct {
	store  *Store
	orders *Orders
	jobs   JobInserter
	log    *slog.Logger
}

// NewDriftResyncs returns the service and registers its worker with jobs.
func NewDriftResyncs(store *Store, orders *Orders, jobs *Jobs, log *slog.Logger) (*DriftResyncs, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &DriftResyncs{store: store, orders: orders, jobs: jobs, log: log.With("component", "drift")}
	if err := addWorker(jobs, &driftResyncWorker{d: d}); err != nil {
		return nil, err
	}
	return d, nil
}

// ResyncOrder asks Ksher about order id (within mids) now and audits what
// happened. Errors: ENOTFOUND.
func (d *DriftResyncs) ResyncOrder(ctx context.Context, by Actor, mids []string, id int64) (ResyncCounts, error) {
	o, err := d.store.FindOrder(ctx, mids, id)
	if err != nil {
		return ResyncCounts{}, err
	}
	c := d.resyncOne(ctx, o)
	return c, d.store.Audit(ctx, by, AuditResync, o.MchOrderNo, o.Mid, c.details())
}

// Start queues "re-sync all" of what the drift page shows for f (scope is
// the page's mid or "all"): the progress row, its job and the audit entry
// commit together.
func (d *DriftResyncs) Start(ctx context.Context, by Actor, scope string, f DriftFilter) (*BulkResync, error) {
	report, err := d.store.DriftReport(ctx, f)
	if err != nil {
		return nil, err
	}
	exists := map[int64]bool{}
	for _, r := range report.Disagreements {
		exists[r.OrderID] = r.Order.ID != 0
	}
	for _, o := range append(slices.Clip(report.Unnotified), report.Open...) {
		exists[o.ID] = true
	}
	r := &BulkResync{Scope: scope, Mids: f.Mids, OrderIDs: []int64{}, State: ResyncQueued}
	for _, id := range report.OrderIDs() {
		if exists[id] {
			r.OrderIDs = append(r.OrderIDs, id)
		}
	}
	if by.UserID != 0 {
		r.RequestedBy = &by.UserID
	}
	mid := ""
	if scope != "all" {
		mid = scope
	}
	err = d.store.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		now := d.store.now()
		r.CreatedAt, r.UpdatedAt = now, now
		if r.Total() == 0 {
			r.State = ResyncDone // nothing to ask: no job
		}
		if err := tx.Create(r).Error; err != nil {
			return err
		}
		if r.Total() > 0 {
			if _, err := d.jobs.InsertTx(ctx, tx, DriftResyncArgs{ResyncID: r.ID}, nil); err != nil {
				return err
			}
		}
		return d.store.writeAudit(tx, by, AuditResync, "drift", mid, map[string]any{"resync_id": r.ID, "orders": r.Total()})
	})
	if err != nil {
		return nil, fmt.Errorf("store: start drift re-sync: %w", err)
	}
	return r, nil
}

// Get returns re-sync id when every mid it covers is within mids.
// Errors: ENOTFOUND.
func (d *DriftResyncs) Get(ctx context.Context, mids []string, id int64) (*BulkResync, error) {
	var r BulkResync
	if err := d.store.db.WithContext(ctx).Take(&r, id).Error; err != nil {
		return nil, notFoundOr(err, "Re-sync")
	}
	for _, m := range r.Mids {
		if !slices.Contains(mids, m) {
			return nil, Errorf(ENOTFOUND, "Re-sync not found.")
		}
	}
	return &r, nil
}

// run works re-sync id from its position to its end. Each order is asked
// under the row's lock and its counts commit with the position moved past
// it: a second run of the same job (River's rescue of a slow worker) waits
// for the order in flight, then goes on from the committed position, so no
// order is asked or counted twice.
func (d *DriftResyncs) run(ctx context.Context, id int64) error {
	db := d.store.db.WithContext(ctx)
	err := db.Model(&BulkResync{}).Where("id = ? AND state <> ?", id, ResyncDone).
		Updates(map[string]any{"state": ResyncRunning, "error": "", "updated_at": d.store.now()}).Error
	if err != nil {
		return err
	}
	for finished := false; !finished; {
		if err := ctx.Err(); err != nil {
			d.setState(ctx, id, ResyncQueued, "") // stopping: River retries the job
			return err
		}
		err := db.Transaction(func(tx *gorm.DB) error {
			var r BulkResync
			if err := tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).Take(&r, id).Error; err != nil {
				return notFoundOr(err, "Re-sync")
			}
			if r.State == ResyncDone || r.Done >= r.Total() {
				finished = true
				return tx.Model(&BulkResync{}).Where("id = ?", id).Updates(map[string]any{"state": ResyncDone, "updated_at": d.store.now()}).Error
			}
			var c ResyncCounts
			o, err := d.store.FindOrder(ctx, r.Mids, r.OrderIDs[r.Done])
			switch {
			case ErrorCode(err) == ENOTFOUND: // gone since: nothing to ask
			case err != nil:
				return err
			default:
				c = d.resyncOne(ctx, o)
			}
			return tx.Exec(`UPDATE drift_resyncs SET done = done + 1, asked = asked + ?, skipped = skipped + ?, changed = changed + ?,
				confirmed = confirmed + ?, failed = failed + ?, updated_at = ? WHERE id = ?`,
				c.Asked, c.Skipped, c.Changed, c.Confirmed, c.Failed, d.store.now(), id).Error
		})
		if err != nil {
			if ctx.Err() == nil {
				d.setState(ctx, id, ResyncFailed, err.Error())
			}
			return err
		}
	}
	return nil
}

func (d *DriftResyncs) setState(ctx context.Context, id int64, state, reason string) {
	if len(reason) > 500 {
		reason = reason[:500]
	}
	err := d.store.db.WithContext(context.WithoutCancel(ctx)).Model(&BulkResync{}).Where("id = ? AND state <> ?", id, ResyncDone).
		Updates(map[string]any{"state": state, "error": reason, "updated_at": d.store.now()}).Error
	if err != nil {
		d.log.Warn("Cannot record the re-sync's state.", "resync_id", id, slog.Any("error", err))
	}
}

// resyncOne refreshes o through the order cache and counts what happened,
// then settles what Ksher's own answer says (settle).
func (d *DriftResyncs) resyncOne(ctx context.Context, o *Order) ResyncCounts {
	var c ResyncCounts
	after, up := d.orders.Refresh(ctx, o, true)
	switch {
	case up.Err != nil:
		c.Failed = 1
	case !up.Called:
		c.Skipped = 1
	default:
		c.Asked = 1
		if after.Status != o.Status || after.Refunded != o.Refunded {
			c.Changed = 1
		}
		if d.settle(ctx, o, after, up.Answer) {
			c.Confirmed = 1
		}
	}
	return c
}

// settle acts on what Ksher said about o (answer; nil when it did not
// know the order), now that the cache holds after, and reports whether it
// confirmed o paid:
//
//   - Paid, with the amount (and currency, when Ksher names one) the cache
//     held, for a paid order no notification told us about: recorded
//     (ConfirmPaid), so the order leaves "Paid, but no notification". An
//     answer from the client's 10-second memory is not a new word from
//     Ksher and confirms nothing.
//   - A state the cache refused, i.e. one that would reopen a final state
//     (Ksher says pending about an order cached paid): recorded as a
//     disagreement found by the re-sync. The cache keeps its state (as for
//     any answer), and the order stays unconfirmed. A state the cache took
//     is recorded by the database already.
func (d *DriftResyncs) settle(ctx context.Context, o, after *Order, answer *OrderUpdate) bool {
	if answer == nil || answer.Status == "" {
		return false
	}
	if IsFinal(after.Status) && !IsFinal(answer.Status) {
		if err := d.store.RecordDrift(ctx, after.ID, answer.Status, DriftResync); err != nil {
			d.log.Warn("Cannot record a disagreement found by a re-sync.", "order_id", after.ID, slog.Any("error", err))
		}
		return false
	}
	if o.Status != StatusPaid || o.NotifiedAt != nil || !answer.Checked || answer.Status != StatusPaid ||
		answer.Amount != o.Amount || (answer.Currency != "" && answer.Currency != o.Currency) {
		return false
	}
	ok, err := d.store.ConfirmPaid(ctx, o.ID, o.Amount, o.Currency)
	if err != nil {
		d.log.Warn("Cannot record that Ksher confirmed an order paid.", "order_id", o.ID, slog.Any("error", err))
		return false
	}
	return ok
}

// driftResyncWorker works drift_resync jobs.
type driftResyncWorker struct {
	river.WorkerDefaults[DriftResyncArgs]
	d *DriftResyncs
}

func (w *driftResyncWorker) Work(ctx context.Context, job *river.Job[DriftResyncArgs]) error {
	return w.d.run(ctx, job.Args.ResyncID)
}
