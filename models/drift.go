package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Drift sources: what found a disagreement between the cache and Ksher.
const (
	DriftSync         = "sync"         // the daily transactions report
	DriftNotification = "notification" // a notification
	DriftResync       = "resync"       // a re-sync from the drift page
	DriftRecheck      = "recheck"      // any other query (refresh on view, lookup)
)

// DefaultOpenTooLong is how long an order may stay open (pending, not sure,
// unknown) before the drift page lists it.
const DefaultOpenTooLong = 30 * time.Minute

// Drift is one disagreement between the cache and Ksher about an order the
// cache considered final. The database records one whenever a final state
// changes (except refunds moving a paid order on), whatever path changed
// it; RecordDrift records the ones the cache refused.
type Drift struct {
	ID             int64
	OrderID        int64
	Mid            string
	DetectedAt     time.Time
	CachedStatus   string
	ReportedStatus string
	Source         string
	Accepted       bool // the cache took Ksher's state
}

// TableName maps Drift to order_drift.
func (Drift) TableName() string { return "order_drift" }

// recordDriftTx records that Ksher reported reported for o while the cache
// kept its state (the cache refused the answer).
func (s *Store) recordDriftTx(tx *gorm.DB, o *Order, reported, source string) error {
	return tx.Create(&Drift{OrderID: o.ID, Mid: o.Mid, DetectedAt: s.now(), CachedStatus: o.Status,
		ReportedStatus: reported, Source: source, Accepted: false}).Error
}

// RecordDrift records that Ksher reported a state the cache refused for
// order id (e.g. an answer that would reopen a final order). The same
// refusal heard again (each "re-sync all" while Ksher keeps saying it) is
// not recorded twice: the newest entry already says it.
func (s *Store) RecordDrift(ctx context.Context, orderID int64, reported, source string) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var o Order
		// Locked, so two re-syncs of one order do not both add the entry.
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Take(&o, orderID).Error; err != nil {
			return notFoundOr(err, "Order")
		}
		var last []Drift
		if err := tx.Where("order_id = ?", o.ID).Order("detected_at DESC, id DESC").Limit(1).Find(&last).Error; err != nil {
			return err
		}
		if len(last) == 1 && !last[0].Accepted && last[0].CachedStatus == o.Status && last[0].ReportedStatus == reported {
			return nil
		}
		return s.recordDriftTx(tx, &o, reported, source)
	})
}

// DriftFilter selects what the drift page lists.
type DriftFilter struct {
	Mids        []string
	OpenTooLong time.Duration // default DefaultOpenTooLong
	Since       time.Duration // disagreements found, and unnotified orders created, within this long (default 30 days)
	Limit       int           // per list, default 100, at most 500
}

// DriftRow is a recorded disagreement with the order as cached now.
type DriftRow struct {
	Drift
	Order Order
}

// DriftReport is the drift page: three lists, newest first, and the size of
// each (which may exceed what was returned).
type DriftReport struct {
	Disagreements      []DriftRow
	DisagreementsTotal int64
	Unnotified         []Order // paid, created within Since, no notification ever said so, and no re-sync confirmed it (ConfirmPaid)
	UnnotifiedTotal    int64
	Open               []Order // not final and older than OpenTooLong
	OpenTotal          int64
}

// OrderIDs returns the distinct orders the report shows.
func (r *DriftReport) OrderIDs() []int64 {
	seen := map[int64]bool{}
	var ids []int64
	add := func(id int64) {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for _, d := range r.Disagreements {
		add(d.OrderID)
	}
	for _, o := range r.Unnotified {
		add(o.ID)
	}
	for _, o := range r.Open {
		add(o.ID)
	}
	return ids
}

// DriftReport lists, for f.Mids: the disagreements found recently, paid
// orders no notification told us about, and orders still open after
// f.OpenTooLong.
func (s *Store) DriftReport(ctx context.Context, f DriftFilter) (*DriftReport, error) {
	r := &DriftReport{}
	if len(f.Mids) == 0 {
		return r, nil
	}
	if f.OpenTooLong <= 0 {
		f.OpenTooLong = DefaultOpenTooLong
	}
	if f.Since <= 0 {
		f.Since = 30 * 24 * time.Hour
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	now := s.now()
	db := s.db.WithContext(ctx)

	var drifts []Drift
	dq := db.Model(&Drift{}).Where("mid IN ? AND detected_at > ?", f.Mids, now.Add(-f.Since))
	if err := dq.Count(&r.DisagreementsTotal).Error; err != nil {
		return nil, fmt.Errorf("store: drift: %w", err)
	}
	if err := dq.Order("detected_at DESC, id DESC").Limit(f.Limit).Find(&drifts).Error; err != nil {
		return nil, fmt.Errorf("store: drift: %w", err)
	}
	if len(drifts) > 0 {
		ids := make([]int64, len(drifts))
		for i, d := range drifts {
			ids[i] = d.OrderID
		}
		var orders []Order
		if err := db.Where("id IN ?", ids).Find(&orders).Error; err != nil {
			return nil, fmt.Errorf("store: drift orders: %w", err)
		}
		byID := map[int64]Order{}
		for _, o := range orders {
			byID[o.ID] = o
		}
		for _, d := range drifts {
			r.Disagreements = append(r.Disagreements, DriftRow{Drift: d, Order: byID[d.OrderID]})
		}
	}

	// Served by the partial index orders_paid_unconfirmed_idx (0009), whose
	// predicate is exactly the first three conditions.
	uq := db.Model(&Order{}).Where("mid IN ? AND status = ? AND notified_at IS NULL AND paid_confirmed_at IS NULL AND created_at > ?",
		f.Mids, StatusPaid, now.Add(-f.Since))
	if err := uq.Count(&r.UnnotifiedTotal).Error; err != nil {
		return nil, fmt.Errorf("store: unnotified: %w", err)
	}
	if err := uq.Order("created_at DESC, id DESC").Limit(f.Limit).Find(&r.Unnotified).Error; err != nil {
		return nil, fmt.Errorf("store: unnotified: %w", err)
	}

	oq := db.Model(&Order{}).Where("mid IN ? AND status IN ? AND created_at < ?", f.Mids,
		[]string{StatusPending, StatusNotSure, StatusUnknown}, now.Add(-f.OpenTooLong))
	if err := oq.Count(&r.OpenTotal).Error; err != nil {
		return nil, fmt.Errorf("store: open orders: %w", err)
	}
	if err := oq.Order("created_at DESC, id DESC").Limit(f.Limit).Find(&r.Open).Error; err != nil {
		return nil, fmt.Errorf("store: open orders: %w", err)
	}
	return r, nil
}

// ConfirmPaid records that Ksher, asked again from the drift page, said
// order id is paid with amount in currency: the order leaves the "paid, but
// no notification" list (orders.paid_confirmed_at). The notification is
// still missing and notified_at stays empty. Nothing is recorded, and false
// returned, unless the cached order is paid with that very amount and
// currency now; a later confirmation keeps the first one's time.
func (s *Store) ConfirmPaid(ctx context.Context, orderID, amount int64, currency string) (bool, error) {
	res := s.db.WithContext(ctx).Exec(`UPDATE orders SET paid_confirmed_at = ?
		WHERE id = ? AND status = ? AND amount = ? AND currency = ? AND paid_confirmed_at IS NULL`,
		s.now(), orderID, StatusPaid, amount, currency)
	if res.Error != nil {
		return false, fmt.Errorf("store: confirm paid %d: %w", orderID, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// PaidConfirmedAt returns when a re-sync confirmed order id paid
// (ConfirmPaid), or nil; ENOTFOUND for no such order.
func (s *Store) PaidConfirmedAt(ctx context.Context, orderID int64) (*time.Time, error) {
	var at *time.Time
	err := s.db.WithContext(ctx).Raw("SELECT paid_confirmed_at FROM orders WHERE id = ?", orderID).Row().Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, Errorf(ENOTFOUND, "Order not found.")
	}
	return at, err
}

// OrderKey names a cached order.
type OrderKey struct {
	Mid        string
	MchOrderNo string
}

// MarkSeededNotified records, for those of keys cached from the sandbox's
// history (source "seed") with a payment time and no notification yet, that
// Ksher's notification came when the order was paid. It returns how many
// orders it marked. Keys are matched by the (mid, mch_order_no) index.
func (s *Store) MarkSeededNotified(ctx context.Context, keys []OrderKey) (int64, error) {
	var n int64
	for chunk := range slices.Chunk(keys, 1000) {
		pairs := make([][]any, len(chunk))
		for i, k := range chunk {
			pairs[i] = []any{k.Mid, k.MchOrderNo}
		}
		res := s.db.WithContext(ctx).Exec(`UPDATE orders SET notified_at = paid_at
			WHERE (mid, mch_order_no) IN ? AND source = 'seed' AND paid_at IS NOT NULL AND notified_at IS NULL`, pairs)
		if res.Error != nil {
			return n, fmt.Errorf("store: mark seeded orders notified: %w", res.Error)
		}
		n += res.RowsAffected
	}
	return n, nil
}
