package models

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/ksherdash/ksherdash/gateway"
)

// The reconciler decides unknown refunds by asking Ksher, never by sending
// a refund again: v3 refund_query by the refund number, or, where the
// channel has no refund_query (PromptPay, Alipay) and on vip (no refund
// query; the refund record's GET, else the order), the order's refunded
// state compared with our sum. One job per unknown refund (unique while
// unfinished), backing off from 10 s to 30 min, asking about the order no
// sooner than QueryGap after anyone last did (the orders' Upstream lease,
// across replicas). After RefundsConfig.ReconcileFor it stops and the
// drift page lists the refund for a person (Resolve).

// RefundReconcileArgs is the River job that finds out what became of one
// unknown refund.
type RefundReconcileArgs struct {
	RefundID int64 `json:"refund_id" river:"unique"`
}

// Kind is the job's kind in river_job.
func (RefundReconcileArgs) Kind() string { return "refund_reconcile" }

func reconcileJobOpts() *river.InsertOpts {
	return &river.InsertOpts{UniqueOpts: UniqueWhileUnfinished(), MaxAttempts: 25}
}

type refundReconcileWorker struct {
	river.WorkerDefaults[RefundReconcileArgs]
	refunds *Refunds
}

func (w *refundReconcileWorker) Work(ctx context.Context, job *river.Job[RefundReconcileArgs]) error {
	wait, err := w.refunds.reconcile(ctx, job.Args.RefundID)
	if err != nil || wait <= 0 {
		return err
	}
	return river.JobSnooze(wait)
}

// reconcileBackoff is the wait after the n-th query of an unknown refund.
func reconcileBackoff(n int) time.Duration {
	return min(QueryGap<<min(n, 10), 30*time.Minute)
}

// notFoundAfter: a refund Ksher does not know is failed only once it was
// sent this long ago (Ksher may list a refund moments after making it).
func (s *Refunds) notFoundAfter() time.Duration {
	if s.cfg.NotFoundAfter > 0 {
		return s.cfg.NotFoundAfter
	}
	return 2 * time.Minute
}

// reconcile asks Ksher about refund id once, if it is unknown, and decides
// it when the answer is clear. It returns how long to wait before asking
// again (0: nothing more to do).
func (s *Refunds) reconcile(ctx context.Context, id int64) (time.Duration, error) {
	var rf Refund
	if err := s.store.db.WithContext(ctx).Where("id = ?", id).Take(&rf).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return 0, nil
		}
		return 0, err
	}
	if rf.Status != RefundUnknown || rf.NeedsPerson {
		return 0, nil
	}
	if rf.UnknownSince != nil && s.now().Sub(*rf.UnknownSince) > s.cfg.ReconcileFor {
		return 0, s.giveUp(ctx, &rf)
	}
	o, err := s.store.FindOrder(ctx, []string{rf.Mid}, rf.OrderID)
	if err != nil {
		return 0, err
	}
	client, _, err := s.clients.For(ctx, o.AccountID)
	if err != nil {
		return reconcileBackoff(rf.Checks), nil // the account cannot be used now: ask later
	}
	if ans := s.fromFreshOrder(&rf, o); ans != nil {
		// Where only the order tells (no refund query), an answer about the
		// order moments ago (a refresh, a webhook's query) is Ksher's word
		// now: no need to ask again.
		// Only as evidence that the refund was made: a cached "paid"
		// proves nothing failed.
		if v := s.reconcileOutcome(ctx, &rf, o, ans, nil); v.State == RefundSucceeded {
			return 0, s.recordCheck(ctx, &rf, nil, v)
		}
	}
	var ans *gateway.Refund
	var callErr error
	res, err := s.store.Upstream(ctx, orderKey(o.Mid, o.MchOrderNo), QueryGap, func(ctx context.Context) ([]OrderUpdate, bool, error) {
		cctx, cancel := context.WithTimeout(ctx, interactiveCallTimeout)
		defer cancel()
		ans, callErr = client.Refunds.Get(cctx, refundQuery(&rf))
		return nil, callErr == nil, callErr
	})
	if !res.Called && err == nil {
		return QueryGap, nil // someone asked about the order moments ago
	}
	v := s.reconcileOutcome(ctx, &rf, o, ans, callErr)
	if err := s.recordCheck(ctx, &rf, ans, v); err != nil {
		return 0, err
	}
	if v.State != RefundUnknown {
		return 0, nil
	}
	return reconcileBackoff(rf.Checks), nil
}

// fromFreshOrder is the order-level answer the cache holds about rf's
// order, when Ksher gave it under QueryGap ago, after rf was sent, and the
// order is all Ksher can tell about rf (vip; a channel without
// refund_query); nil otherwise.
func (s *Refunds) fromFreshOrder(rf *Refund, o *Order) *gateway.Refund {
	rule, _ := gateway.RefundRuleFor(rf.Channel)
	byOrder := !rule.RefundQuery || (rf.TargetField != "ksher_order_no" && rf.TargetField != "mch_order_no")
	// The answer must be Ksher's word after the refund was sent.
	if !byOrder || o.CheckedAt == nil || s.now().Sub(*o.CheckedAt) >= QueryGap || rf.SentAt == nil || !o.CheckedAt.After(*rf.SentAt) {
		return nil
	}
	return &gateway.Refund{Status: gateway.StatusUnknown, OrderStatus: gateway.Status(o.Status), OrderAmount: o.Amount, Currency: o.Currency}
}

// refundQuery asks about rf by its number, naming its order as it was
// refunded.
func refundQuery(rf *Refund) *gateway.RefundGetParams {
	p := &gateway.RefundGetParams{Mid: rf.Mid, RefundID: rf.MchRefundNo}
	p.MerchantOrderID, p.KsherOrderID, p.Type, p.Channel = refundOrderRef(rf)
	return p
}

// reconcileOutcome reads Ksher's answer about an unknown refund:
//   - the refund itself: refunded -> succeeded, failed -> failed, still
//     processing -> unknown;
//   - Ksher does not know the refund number (and it was sent
//     notFoundAfter ago or more) -> failed: it was never made;
//   - only the order's state (no refund query): not refunded at all, past
//     notFoundAfter -> failed; refunded by Ksher's total at least our other
//     refunds plus this one -> succeeded; refunded with no total given,
//     when this refund is the order's only one not known as done, or it
//     makes up exactly the full amount Ksher reports refunded ->
//     succeeded; anything else stays unknown (a person decides in the end).
//   - no usable answer -> unknown, asked again later.
func (s *Refunds) reconcileOutcome(ctx context.Context, rf *Refund, o *Order, ans *gateway.Refund, err error) sendVerdict {
	sent := rf.CreatedAt
	if rf.SentAt != nil {
		sent = *rf.SentAt
	}
	old := s.now().Sub(sent) >= s.notFoundAfter()
	if err != nil {
		var ge *gateway.Error
		if errors.As(err, &ge) && refundNotKnown(ge) && old {
			return sendVerdict{State: RefundFailed, Code: ge.Code, Text: "Ksher has no refund with this number"}
		}
		return sendVerdict{State: RefundUnknown, Code: GatewayErrorCode(err), Text: "Ksher could not be asked"}
	}
	switch ans.Status {
	case gateway.StatusRefunded:
		return sendVerdict{State: RefundSucceeded, Code: ans.RawStatus}
	case gateway.StatusFailed:
		return sendVerdict{State: RefundFailed, Code: ans.RawStatus, Text: "Ksher reports the refund failed"}
	case gateway.StatusPending:
		return sendVerdict{State: RefundUnknown, Code: ans.RawStatus, Text: "Ksher has not finished the refund"}
	}
	others, otherOpen, err := s.otherRefunds(ctx, rf)
	if err != nil {
		return sendVerdict{State: RefundUnknown, Code: "error", Text: err.Error()}
	}
	known := max(o.Refunded, others)
	switch ans.OrderStatus {
	case gateway.StatusPaid:
		if old {
			return sendVerdict{State: RefundFailed, Code: "order_not_refunded", Text: "Ksher reports no refund on the order"}
		}
	case gateway.StatusRefunded, gateway.StatusPartiallyRefunded:
		switch {
		case ans.RefundedTotal > 0 && ans.RefundedTotal >= known+rf.Amount:
			return sendVerdict{State: RefundSucceeded, Code: "order_refunded"}
		case ans.RefundedTotal == 0 && known == 0 && otherOpen == 0:
			return sendVerdict{State: RefundSucceeded, Code: "order_refunded"}
		case ans.RefundedTotal == 0 && ans.OrderStatus == gateway.StatusRefunded && o.Kind == OrderKindKsherPay && known+rf.Amount == o.Amount:
			return sendVerdict{State: RefundSucceeded, Code: "order_refunded"}
		}
	}
	return sendVerdict{State: RefundUnknown, Code: string(ans.OrderStatus), Text: "Ksher's answer does not tell this refund apart"}
}

// refundNotKnown reports whether Ksher said it has no such refund.
func refundNotKnown(ge *gateway.Error) bool {
	if ge.Kind != gateway.KindAPI {
		return false
	}
	return ge.Code == "REFUND_NOT_FOUND" || ge.HTTPStatus == http.StatusNotFound || strings.Contains(ge.Code, "INVALID_REFUND_NO")
}

// otherRefunds sums rf's order's other refunds: succeeded, and open.
func (s *Refunds) otherRefunds(ctx context.Context, rf *Refund) (succeeded, open int64, err error) {
	var row struct{ Succeeded, Open int64 }
	err = s.store.db.WithContext(ctx).Raw(`SELECT COALESCE(SUM(amount) FILTER (WHERE status = 'succeeded'), 0) AS succeeded,
			COALESCE(SUM(amount) FILTER (WHERE status IN ('pending', 'unknown')), 0) AS open
		FROM refunds WHERE order_id = ? AND id <> ?`, rf.OrderID, rf.ID).Scan(&row).Error
	return row.Succeeded, row.Open, err
}

// recordCheck records one query of an unknown refund and, when v decides
// it, its new state.
func (s *Refunds) recordCheck(ctx context.Context, sent *Refund, ans *gateway.Refund, v sendVerdict) error {
	return s.store.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var rf Refund
		if err := tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).Where("id = ?", sent.ID).Take(&rf).Error; err != nil {
			return err
		}
		now := s.now()
		rf.Checks++
		if err := tx.Model(&rf).Updates(map[string]any{"checks": rf.Checks, "checked_at": now, "updated_at": now}).Error; err != nil {
			return err
		}
		sent.Checks = rf.Checks
		if rf.Status != RefundUnknown || v.State == RefundUnknown {
			return nil // decided meanwhile (a person, the sync), or still unclear
		}
		o, err := lockOrder(tx, rf.OrderID)
		if err != nil {
			return err
		}
		return s.decideTx(tx, &rf, o, v, ans, BackgroundJob())
	})
}

// giveUp leaves an unknown refund to a person: the drift page lists it.
func (s *Refunds) giveUp(ctx context.Context, rf *Refund) error {
	return s.store.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&Refund{}).Where("id = ? AND status = ? AND NOT needs_person", rf.ID, RefundUnknown).
			Updates(map[string]any{"needs_person": true, "updated_at": s.now()})
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		return s.store.writeAudit(tx, BackgroundJob(), AuditRefundOutcome, rf.MchRefundNo, rf.Mid, map[string]any{
			"refund_no": rf.MchRefundNo, "amount": rf.Amount, "currency": rf.Currency, "state": RefundUnknown, "code": "needs_person"})
	})
}

// reconcileOrderTx queues the reconciler for every unknown refund of an
// order Ksher just said is refunded (Store.onRefundSeen).
func (s *Refunds) reconcileOrderTx(tx *gorm.DB, orderID int64) error {
	var ids []int64
	if err := tx.Model(&Refund{}).Where("order_id = ? AND status = ?", orderID, RefundUnknown).Pluck("id", &ids).Error; err != nil {
		return err
	}
	for _, id := range ids {
		// Ksher spoke: the reconciler gets another ReconcileFor.
		if err := tx.Model(&Refund{}).Where("id = ?", id).Updates(map[string]any{"needs_person": false, "unknown_since": s.now()}).Error; err != nil {
			return err
		}
		res, err := s.jobs.InsertTx(tx.Statement.Context, tx, RefundReconcileArgs{RefundID: id}, reconcileJobOpts())
		if err != nil {
			return err
		}
		if res.UniqueSkippedAsDuplicate && res.Job != nil {
			// Its job is waiting out a backoff: ask now.
			if err := s.jobs.RetryTx(tx.Statement.Context, tx, res.Job.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// Resolve decides an unknown refund by hand (the drift page): a person who
// may refund on its mid says it succeeded or failed, and why, after
// checking with Ksher (its portal, the merchant's statement). Audited.
func (s *Refunds) Resolve(ctx context.Context, by Actor, a MidAccess, refundID int64, state, reason string) (*Refund, error) {
	if !RoleCan(a.Role, ActRefund) {
		return nil, ErrRefundNotAllowed
	}
	p := Problems{}
	if state != RefundSucceeded && state != RefundFailed {
		p.Add("state", "refund.resolve_state", nil)
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		p.Add("reason", "refund.reason_required", nil)
	} else if len([]rune(reason)) > MaxRefundReason {
		p.Add("reason", "input.too_long", map[string]any{"Max": MaxRefundReason})
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	var rf Refund
	err := s.store.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).Where("id = ? AND mid = ?", refundID, a.Mid.Mid).Take(&rf).Error; err != nil {
			return notFoundOr(err, "Refund")
		}
		if rf.Status != RefundUnknown {
			return errorID(ECONFLICT, "refund.already_decided", "This refund is no longer unknown.")
		}
		o, err := lockOrder(tx, rf.OrderID)
		if err != nil {
			return err
		}
		if state == RefundSucceeded {
			succeeded, _, err := refundHeld(tx, o.ID)
			if err != nil {
				return err
			}
			if max(succeeded, o.Refunded)+rf.Amount > o.Amount {
				return errorID(ECONFLICT, "refund.resolve_over", "The order's refunds would add up to more than it was paid.")
			}
		}
		if err := tx.Model(&rf).Updates(map[string]any{"resolved_by": by.UserID, "resolution": reason}).Error; err != nil {
			return err
		}
		return s.decideTx(tx, &rf, o, sendVerdict{State: state, Code: "resolved_by_hand", Text: reason}, nil, by)
	})
	if err != nil {
		if ErrorCode(err) != EINTERNAL {
			return nil, err
		}
		return nil, fmt.Errorf("refunds: resolve: %w", err)
	}
	return &rf, nil
}
