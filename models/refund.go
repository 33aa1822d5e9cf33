package models

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Refund states. A refund asked for here starts pending (accepted, being
// sent); Ksher's answer makes it succeeded or failed; an answer that does
// not tell (a timeout, a 5xx, a garbled or badly signed answer, "this
// number was already used") makes it unknown, and only the reconciler (or a
// person, on the drift page) decides it: it is never sent again. Refunds
// Ksher reported without us (its portal, the daily sync) are succeeded.
const (
	RefundPending   = "pending"
	RefundSucceeded = "succeeded"
	RefundFailed    = "failed"
	RefundUnknown   = "unknown"
)

// RefundStates lists the states in the order the lists' filter offers them.
var RefundStates = []string{RefundPending, RefundUnknown, RefundSucceeded, RefundFailed}

// Where a refund row comes from.
const (
	RefundFromDashboard = "dashboard"
	RefundFromKsher     = "ksher"
)

// Refund is one refund of an order.
type Refund struct {
	ID              int64
	OrderID         int64
	Mid             string
	MchRefundNo     string // our refund number: the idempotency key at Ksher
	KsherRefundNo   string
	ChannelRefundNo string
	Amount          int64 // minor units of Currency
	Currency        string
	Status          string // Refund*
	Reason          string
	CreatedBy       *int64
	Error           string          // Ksher's words of a refusal, or what made it unknown
	ErrorCode       string          // Ksher's code, or the gateway error kind
	Raw             json.RawMessage `gorm:"type:jsonb"` // Ksher's last answer about it, redacted
	Origin          string          // RefundFromDashboard or RefundFromKsher
	// TargetField and TargetID: which order Ksher is asked to refund (v3:
	// ksher_order_no or mch_order_no; vip: the order family of the path).
	TargetField  string
	TargetID     string
	OrderAmount  int64
	Channel      string
	Attempts     int // sends made
	InFlight     bool
	SentAt       *time.Time
	UnknownSince *time.Time
	Checks       int // reconciler queries made
	CheckedAt    *time.Time
	NeedsPerson  bool // the reconciler gave up: a person decides on the drift page
	DecidedAt    *time.Time
	ResolvedBy   *int64
	Resolution   string // a person's reason when they decided it by hand
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Open reports whether the refund still holds part of the order's amount
// without being done: pending or unknown.
func (r *Refund) Open() bool { return r.Status == RefundPending || r.Status == RefundUnknown }

// refundNoAlphabet: upper-case letters and digits without look-alikes; the
// number fits v3's mch_refund_no (≤ 32) and vip's path-safe ids.
const refundNoAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// newRefundNo mints a refund number: "RF" and 18 random characters (90
// bits), unique in practice; the (mid, mch_refund_no) keys catch the rest.
func newRefundNo() (string, error) {
	b, err := randomString(refundNoAlphabet, 18)
	if err != nil {
		return "", err
	}
	return "RF" + string(b), nil
}

// RefundDraft is a person's open refund number on an order.
type RefundDraft struct {
	OrderID     int64 `gorm:"primaryKey"`
	UserID      int64 `gorm:"primaryKey"`
	Mid         string
	MchRefundNo string
	CreatedAt   time.Time
}

// TableName maps RefundDraft to refund_drafts.
func (RefundDraft) TableName() string { return "refund_drafts" }

// refundDraft returns the person's open refund number on o, minting it
// the first time: every form shown until a refund is made with it carries
// the same number.
func (s *Store) refundDraft(ctx context.Context, userID int64, o *Order) (string, error) {
	for range 3 {
		no, err := newRefundNo()
		if err != nil {
			return "", err
		}
		var got string
		err = s.db.WithContext(ctx).Raw(`INSERT INTO refund_drafts (order_id, user_id, mid, mch_refund_no, created_at)
			VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (order_id, user_id) DO UPDATE SET order_id = EXCLUDED.order_id
			RETURNING mch_refund_no`, o.ID, userID, o.Mid, no, s.now()).Scan(&got).Error
		if isUniqueViolation(err) {
			continue // the number was taken on this mid: mint another
		}
		if err != nil {
			return "", err
		}
		return got, nil
	}
	return "", errors.New("store: cannot mint a refund number")
}

// OrderRefunds returns the refunds of an order, oldest first.
func (s *Store) OrderRefunds(ctx context.Context, orderID int64) ([]Refund, error) {
	var rs []Refund
	err := s.db.WithContext(ctx).Where("order_id = ?", orderID).Order("created_at, id").Find(&rs).Error
	return rs, err
}

// FindRefund returns one refund of one of mids, or ENOTFOUND.
func (s *Store) FindRefund(ctx context.Context, mids []string, id int64) (*Refund, error) {
	var r Refund
	if err := s.db.WithContext(ctx).Where("id = ? AND mid IN ?", id, mids).Take(&r).Error; err != nil {
		return nil, notFoundOr(err, "Refund")
	}
	return &r, nil
}

// RefundFilter selects refunds for the lists: the mids (never empty: the
// person's mids with the view right), optional states and a range of
// creation times [From, To), newest first, keyset-paged by Before.
type RefundFilter struct {
	Mids   []string
	States []string
	From   *time.Time
	To     *time.Time
	// NeedsPerson keeps only the unknown refunds the reconciler gave up on.
	NeedsPerson bool
	Before      *RefundCursor
	Limit       int
}

// RefundCursor is the keyset position of a refunds page: the last row's
// creation time and id.
type RefundCursor struct {
	CreatedAt time.Time
	ID        int64
}

// RefundRow is a line of the refunds lists: the refund, its order's
// number and the requester's email.
type RefundRow struct {
	Refund
	MchOrderNo     string
	RequesterEmail string
}

// ListRefunds returns up to f.Limit refunds (default 50, at most 200) and
// the cursor of the next page (nil on the last).
func (s *Store) ListRefunds(ctx context.Context, f RefundFilter) ([]RefundRow, *RefundCursor, error) {
	limit := f.Limit
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	q := s.db.WithContext(ctx).Table("refunds AS r").
		Select("r.*, o.mch_order_no, COALESCE(u.email, '') AS requester_email").
		Joins("JOIN orders o ON o.id = r.order_id").Joins("LEFT JOIN users u ON u.id = r.created_by").
		Where("r.mid IN ?", f.Mids)
	if len(f.States) > 0 {
		q = q.Where("r.status IN ?", f.States)
	}
	if f.NeedsPerson {
		q = q.Where("r.status = ? AND r.needs_person", RefundUnknown)
	}
	if f.From != nil {
		q = q.Where("r.created_at >= ?", f.From.UTC())
	}
	if f.To != nil {
		q = q.Where("r.created_at < ?", f.To.UTC())
	}
	if f.Before != nil {
		q = q.Where("(r.created_at, r.id) < (?, ?)", f.Before.CreatedAt.UTC(), f.Before.ID)
	}
	var rows []RefundRow
	if err := q.Order("r.created_at DESC, r.id DESC").Limit(limit + 1).Scan(&rows).Error; err != nil {
		return nil, nil, err
	}
	var next *RefundCursor
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[limit-1]
		next = &RefundCursor{CreatedAt: last.CreatedAt, ID: last.ID}
	}
	return rows, next, nil
}

// UnknownRefunds returns the unknown refunds of mids for the drift page,
// oldest first: the ones the reconciler gave up on (a person decides them)
// and the ones it is still asking Ksher about.
func (s *Store) UnknownRefunds(ctx context.Context, mids []string, limit int) ([]RefundRow, error) {
	var rows []RefundRow
	err := s.db.WithContext(ctx).Table("refunds AS r").
		Select("r.*, o.mch_order_no, COALESCE(u.email, '') AS requester_email").
		Joins("JOIN orders o ON o.id = r.order_id").Joins("LEFT JOIN users u ON u.id = r.created_by").
		Where("r.mid IN ? AND r.status = ?", mids, RefundUnknown).
		Order("r.needs_person DESC, r.unknown_since, r.id").Limit(max(limit, 1)).Scan(&rows).Error
	return rows, err
}

// refundHeld sums what o's refunds hold, under o's row lock: the succeeded
// ones and the open (pending, unknown) ones.
func refundHeld(tx *gorm.DB, orderID int64) (succeeded, open int64, err error) {
	var row struct{ Succeeded, Open int64 }
	err = tx.Raw(`SELECT COALESCE(SUM(amount) FILTER (WHERE status = 'succeeded'), 0) AS succeeded,
			COALESCE(SUM(amount) FILTER (WHERE status IN ('pending', 'unknown')), 0) AS open
		FROM refunds WHERE order_id = ?`, orderID).Scan(&row).Error
	return row.Succeeded, row.Open, err
}

// Remaining is what may still be refunded of an order: its amount less
// what is refunded (the larger of Ksher's total, which counts refunds
// made outside the dashboard, and the sum of succeeded refunds) and what
// open refunds hold. The one formula; callers hold the order's lock when
// they act on it.
func Remaining(o *Order, succeeded, open int64) int64 {
	if o.Status != StatusPaid && o.Status != StatusPartiallyRefunded {
		return 0
	}
	return max(0, o.Amount-max(o.Refunded, succeeded)-open)
}

// lockOrder takes o's row lock in tx and returns the row as it is now.
func lockOrder(tx *gorm.DB, id int64) (*Order, error) {
	var o Order
	if err := tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).Where("id = ?", id).Take(&o).Error; err != nil {
		return nil, notFoundOr(err, "Order")
	}
	return &o, nil
}

// isUniqueViolation reports whether err is Postgres refusing a duplicate key.
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// RecordPartialRefundReport keeps v3 merchant_info's allow_partial_refund
// for mid, as Ksher reported it now.
func (s *Store) RecordPartialRefundReport(ctx context.Context, mid string, allow bool) error {
	v := "N"
	if allow {
		v = "Y"
	}
	return s.db.WithContext(ctx).Exec("UPDATE mids SET partial_refund_reported = ?, partial_refund_reported_at = ? WHERE mid = ?",
		v, s.now(), mid).Error
}

// SetAllowPartialRefund sets a vip account's own partial-refund setting
// (the vip API does not tell), audited as an account update.
func (s *Store) SetAllowPartialRefund(ctx context.Context, by Actor, accountID int64, allow bool) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var name string
		if err := tx.Raw("SELECT name FROM merchant_accounts WHERE id = ? FOR UPDATE", accountID).Scan(&name).Error; err != nil {
			return err
		}
		if name == "" {
			return Errorf(ENOTFOUND, "Account not found.")
		}
		if err := tx.Exec("UPDATE merchant_accounts SET allow_partial_refund = ?, updated_at = ? WHERE id = ?", allow, s.now(), accountID).Error; err != nil {
			return err
		}
		return s.writeAudit(tx, by, AuditAccountUpdate, name, "", map[string]any{"allow_partial_refund": allow})
	})
}
