package models

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/riverqueue/river"
	"gorm.io/gorm"

	"github.com/ksherdash/ksherdash/gateway"
)

// Refunds is the service behind refunds: the refund panel of an order, a
// person's refund request (Create: one transaction under the order's row
// lock), sending it to Ksher (the refund_send job, refund_jobs.go), and
// finding out what became of a refund whose answer was unclear (the
// refund_reconcile job, refund_reconcile.go).
//
// Exactly one refund per intent: the refund number (mch_refund_no) is
// minted with the form (refund_drafts) and is the key of the refund row
// (UNIQUE (mid, mch_refund_no)) and the idempotency key at Ksher. Never
// more than was paid: the remaining amount (Remaining) is checked under the
// order's lock. Never lost: the send job is inserted in the transaction
// that accepts the refund, and an unclear answer leaves the refund unknown
// for the reconciler, never failed, never sent again.
type Refunds struct {
	store   *Store
	orders  *Orders
	clients *GatewayClients
	jobs    JobInserter
	log     *slog.Logger
	cfg     RefundsConfig
	now     func() time.Time
}

// RefundsConfig configures the refund service.
type RefundsConfig struct {
	// ReconcileFor is how long the reconciler asks Ksher about an unknown
	// refund before it leaves it to a person (the drift page); default 24 h.
	ReconcileFor time.Duration
	// Logins throttles the step-up's password checks like sign-ins.
	Logins LoginPolicy
	// NotFoundAfter: the reconciler takes Ksher not knowing a refund as
	// "never made" (failed) only once it was sent this long ago; default
	// 2 min.
	NotFoundAfter time.Duration
}

// MaxRefundReason bounds the reason a person gives.
const MaxRefundReason = 500

// NewRefunds returns the refund service and registers its jobs with jobs.
func NewRefunds(store *Store, orders *Orders, jobs *Jobs, log *slog.Logger, cfg RefundsConfig) (*Refunds, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.ReconcileFor <= 0 {
		cfg.ReconcileFor = 24 * time.Hour
	}
	if cfg.Logins.Window == 0 {
		cfg.Logins = DefaultLoginPolicy
	}
	s := &Refunds{store: store, orders: orders, clients: orders.Clients(), jobs: jobs, log: log.With("component", "refunds"), cfg: cfg, now: time.Now}
	if err := addWorker(jobs, &refundSendWorker{refunds: s}); err != nil {
		return nil, err
	}
	if err := addWorker(jobs, &refundReconcileWorker{refunds: s}); err != nil {
		return nil, err
	}
	// Ksher saying an order is refunded (a vip "Order Refunded" webhook and
	// its query, a refresh, the sync) sends the reconciler to the order's
	// unknown refunds, in the transaction that records it.
	store.onRefundSeen = s.reconcileOrderTx
	return s, nil
}

// RefundRequest is a person's refund: the form's fields.
type RefundRequest struct {
	OrderID  int64
	RefundNo string // the form's refund number (the draft's)
	Amount   string // typed in the currency's major unit ("1,234.50")
	Full     bool   // "refund the rest": the remaining amount, whatever it is now
	Reason   string
	StepUp   StepUp
}

// Validate checks what needs no database: a reason, an amount that parses
// exactly in currency, a refund number of the minted shape.
func (r *RefundRequest) Validate(currency string) (int64, Problems) {
	p := Problems{}
	reason := strings.TrimSpace(r.Reason)
	switch {
	case reason == "":
		p.Add("reason", "refund.reason_required", nil)
	case utf8.RuneCountInString(reason) > MaxRefundReason:
		p.Add("reason", "input.too_long", map[string]any{"Max": MaxRefundReason})
	}
	var amount int64
	if !r.Full {
		v, err := ParseMinor(r.Amount, currency)
		switch {
		case err != nil:
			p.Add("amount", "refund.amount_invalid", nil)
		case v <= 0:
			p.Add("amount", "refund.amount_zero", nil)
		}
		amount = v
	}
	if !validRefundNo(r.RefundNo) {
		p.Add("refund_no", "refund.form_stale", nil)
	}
	return amount, p
}

func validRefundNo(no string) bool {
	if len(no) != 20 || !strings.HasPrefix(no, "RF") {
		return false
	}
	for _, c := range no[2:] {
		if !strings.ContainsRune(refundNoAlphabet, c) {
			return false
		}
	}
	return true
}

// ErrRefundNotAllowed is a refund the person's role may not make.
var ErrRefundNotAllowed = errorID(EFORBIDDEN, "refund.not_allowed", "You may not refund orders of this mid.")

// Create makes by's refund of an order of mid a (which by holds). The
// refund row, its audit entry and its send job commit together, under the
// order's row lock, or nothing does. A refund number already used gives
// that refund back (a double click, a second tab, a replayed POST: one
// refund), with no step-up asked. Errors: *InvalidInput (the form's
// problems: amount above the remaining, a partial refund the channel
// refuses, a wrong password or code), EFORBIDDEN (a support limit, audited
// as refused), ENOTFOUND, ETOOMANYREQUEST (step-up throttled).
func (s *Refunds) Create(ctx context.Context, by Actor, a MidAccess, req RefundRequest) (*Refund, error) {
	if !RoleCan(a.Role, ActRefund) {
		return nil, ErrRefundNotAllowed
	}
	o, err := s.store.FindOrder(ctx, []string{a.Mid.Mid}, req.OrderID)
	if err != nil {
		return nil, err
	}
	amount, problems := req.Validate(o.Currency)
	if validRefundNo(req.RefundNo) {
		if done, err := s.refundByNo(ctx, o, req.RefundNo); err != nil || done != nil {
			return done, err
		}
	}
	if err := problems.Err(); err != nil {
		return nil, err
	}
	if err := s.store.ConfirmStepUp(ctx, by, req.StepUp, s.cfg.Logins); err != nil {
		return nil, err
	}
	if o, err = s.knowTarget(ctx, a, o); err != nil {
		return nil, err
	}
	panel, err := s.rules(ctx, o)
	if err != nil {
		return nil, err
	}
	var rf *Refund
	var refused *Error
	err = s.store.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		o, err := lockOrder(tx, o.ID)
		if err != nil {
			return err
		}
		// Under the lock: a concurrent submission of the same number that
		// got here first made the refund.
		if done, err := refundByNoTx(tx, o, req.RefundNo); err != nil || done != nil {
			rf = done
			return err
		}
		var draft RefundDraft
		if err := tx.Where("order_id = ? AND user_id = ? AND mch_refund_no = ?", o.ID, by.UserID, req.RefundNo).Take(&draft).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return invalid("refund_no", "refund.form_stale")
			}
			return err
		}
		succeeded, open, err := refundHeld(tx, o.ID)
		if err != nil {
			return err
		}
		remaining := Remaining(o, succeeded, open)
		if req.Full {
			amount = remaining
		}
		if remaining <= 0 {
			return invalid("amount", "refund.nothing_left")
		}
		if amount > remaining {
			return &InvalidInput{Problems: Problems{"amount": {ID: "refund.above_remaining",
				Data: map[string]any{"Remaining": remaining, "Currency": o.Currency}}}}
		}
		if amount < o.Amount && !panel.Partial {
			return invalid("amount", "refund.partial_not_allowed")
		}
		if refused = s.supportLimit(a, o, amount); refused != nil {
			return refused
		}
		rf = &Refund{OrderID: o.ID, Mid: o.Mid, MchRefundNo: req.RefundNo, Amount: amount, Currency: o.Currency,
			Status: RefundPending, Reason: strings.TrimSpace(req.Reason), CreatedBy: &by.UserID, Origin: RefundFromDashboard,
			TargetField: panel.TargetField, TargetID: panel.TargetID, OrderAmount: o.Amount, Channel: o.Channel,
			CreatedAt: s.now(), UpdatedAt: s.now()}
		if err := tx.Create(rf).Error; err != nil {
			return err
		}
		if err := tx.Delete(&draft).Error; err != nil {
			return err
		}
		if err := s.store.addRefundStateEventTx(tx, o, rf, EventRefundRequested, ""); err != nil {
			return err
		}
		if err := s.store.writeAudit(tx, by, AuditRefund, o.MchOrderNo, o.Mid, map[string]any{"refund_no": rf.MchRefundNo,
			"amount": rf.Amount, "currency": rf.Currency, "reason": rf.Reason, "order_id": o.ID, "remaining_before": remaining}); err != nil {
			return err
		}
		_, err = s.jobs.InsertTx(ctx, tx, RefundSendArgs{RefundID: rf.ID, RefundNo: rf.MchRefundNo}, refundJobOpts())
		return err
	})
	if refused != nil {
		// The refusal is audited on its own: nothing else was written.
		if aerr := s.store.Audit(ctx, by, AuditRefundRefused, o.MchOrderNo, o.Mid, map[string]any{"amount": amount,
			"currency": o.Currency, "order_id": o.ID, "why": refused.MsgID}); aerr != nil {
			return nil, aerr
		}
		return nil, refused
	}
	if err != nil {
		if isUniqueViolation(err) {
			// The number is taken on this mid by another order's refund: a
			// forged or stale form.
			return nil, invalid("refund_no", "refund.form_stale")
		}
		if AsInvalidInput(err) != nil || ErrorCode(err) != EINTERNAL {
			return nil, err
		}
		return nil, fmt.Errorf("refunds: create: %w", err)
	}
	return rf, nil
}

// refundByNo returns the refund already made with no on o's mid, nil when
// there is none. One made on another order is a stale form.
func (s *Refunds) refundByNo(ctx context.Context, o *Order, no string) (*Refund, error) {
	return refundByNoTx(s.store.db.WithContext(ctx), o, no)
}

func refundByNoTx(tx *gorm.DB, o *Order, no string) (*Refund, error) {
	var rf Refund
	err := tx.Where("mid = ? AND mch_refund_no = ?", o.Mid, no).Take(&rf).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return nil, nil
	case err != nil:
		return nil, err
	case rf.OrderID != o.ID:
		return nil, invalid("refund_no", "refund.form_stale")
	}
	return &rf, nil
}

// supportLimit applies the limits the people page sets on a support
// person's refunds, like Ksher's cashier rights: a cap per refund and
// refunds of the transaction day only (in the account's zone).
func (s *Refunds) supportLimit(a MidAccess, o *Order, amount int64) *Error {
	if a.RefundCap != nil && amount > *a.RefundCap {
		return &Error{Code: EFORBIDDEN, MsgID: "refund.above_cap", Data: map[string]any{"Cap": *a.RefundCap, "Currency": o.Currency},
			Message: "This refund is above your refund limit."}
	}
	if a.SameDayOnly && s.afterDay(a.TimeZone, o) {
		return &Error{Code: EFORBIDDEN, MsgID: "refund.same_day_only", Message: "You may refund only orders paid today."}
	}
	return nil
}

// afterDay reports whether o was paid before today in zone (the account's).
func (s *Refunds) afterDay(zone string, o *Order) bool {
	loc, err := time.LoadLocation(zone)
	if err != nil || zone == "" {
		loc = gateway.ICT
	}
	paid := o.CreatedAt
	if o.PaidAt != nil {
		paid = *o.PaidAt
	}
	py, pm, pd := paid.In(loc).Date()
	ny, nm, nd := s.now().In(loc).Date()
	return py != ny || pm != nm || pd != nd
}

// refundJobOpts: one send job per refund while unfinished; River's
// retries cover a failed database write after the call (the refund is then
// in flight, and the next attempt makes it unknown without calling).
func refundJobOpts() *river.InsertOpts {
	return &river.InsertOpts{UniqueOpts: UniqueWhileUnfinished(), MaxAttempts: 25}
}
