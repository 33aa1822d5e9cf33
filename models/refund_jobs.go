package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/ksherdash/ksherdash/gateway"
)

// RefundSendArgs is the River job that sends one refund to Ksher, unique
// while unfinished. The refund number is the idempotency key of the effect
// outside our database; it is in the args for a person reading River's
// tables, and the worker sends the row's own.
type RefundSendArgs struct {
	RefundID int64  `json:"refund_id" river:"unique"`
	RefundNo string `json:"refund_no"`
}

// Kind is the job's kind in river_job.
func (RefundSendArgs) Kind() string { return "refund_send" }

type refundSendWorker struct {
	river.WorkerDefaults[RefundSendArgs]
	refunds *Refunds
}

func (w *refundSendWorker) Work(ctx context.Context, job *river.Job[RefundSendArgs]) error {
	return w.refunds.send(ctx, job.Args.RefundID)
}

// maxSends bounds how often one refund is sent again after Ksher asked for
// the same request again (rate limit, a v3 code != 0); past it the refund
// is unknown and the reconciler asks.
const maxSends = 10

// What one answer to a send means for the refund (sendOutcome).
type sendVerdict struct {
	State string        // RefundSucceeded, RefundFailed, RefundUnknown, or RefundPending (send again)
	After time.Duration // RefundPending: wait this long first
	Code  string        // Ksher's code, or the gateway error kind
	Text  string        // Ksher's words, or what made it unclear
}

// sendOutcome reads Ksher's answer to a refund (or its absence), sent for
// the attempts-th time. Only a clear answer decides:
//   - Ksher says refunded -> succeeded; Ksher refuses it (v3 code 0 with
//     result FAIL and an err_code, vip error_code FAIL, an HTTP 4xx) ->
//     failed, and its amount is released;
//   - Ksher asks for the same request again (rate limit, a v3 envelope
//     code != 0: "retry with the same parameters") -> still pending, sent
//     again later with the same number;
//   - anything else -> unknown, for the reconciler: a timeout, a
//     connection error, a 5xx, a body that cannot be read or whose
//     signature does not verify, Ksher's own SYSTEMERROR, Ksher still
//     processing, and any refusal that says the number was used already.
//
// API.md E.3 leaves open whether Ksher answers a refund number sent again
// with the refund it made (the sandbox's "same" mode) or refuses it as a
// duplicate ("refuse" mode). The product relies on neither: a refusal of a
// number sent before (attempts > 1) is not read as "no refund", since the
// earlier send may have made one; it is unknown.
func sendOutcome(ans *gateway.Refund, err error, attempts int) sendVerdict {
	if err == nil {
		switch ans.Status {
		case gateway.StatusRefunded:
			return sendVerdict{State: RefundSucceeded}
		case gateway.StatusFailed:
			return sendVerdict{State: RefundFailed, Code: ans.RawCode, Text: "Ksher refused the refund"}
		}
		return sendVerdict{State: RefundUnknown, Code: string(ans.Status), Text: "Ksher has not finished the refund"}
	}
	var ge *gateway.Error
	if !errors.As(err, &ge) {
		return sendVerdict{State: RefundUnknown, Code: "error", Text: err.Error()}
	}
	v := sendVerdict{Code: orDefault(ge.Code, string(ge.Kind)), Text: ge.Message}
	switch {
	case ge.Kind == gateway.KindRateLimited:
		v.State, v.After = RefundPending, max(ge.RetryAfter, QueryGap)
	case ge.Kind == gateway.KindAPI && ge.SendAgain:
		v.State, v.After = RefundPending, QueryGap
	case ge.Kind == gateway.KindInvalidRequest || ge.Kind == gateway.KindUnsupported:
		v.State = RefundFailed // refused here: nothing was sent
	case ge.Kind == gateway.KindAPI && ge.HTTPStatus < 500 && attempts <= 1 && !duplicateRefusal(ge) && ge.Code != gateway.CodeSystemError:
		v.State = RefundFailed
	default:
		v.State = RefundUnknown
		if v.Text == "" {
			v.Text = string(ge.Kind)
		}
	}
	return v
}

// duplicateRefusal reports whether Ksher refused because the refund number
// was used already (v3 KSHER_DUPLICATE_REFUND_NO as the sandbox answers;
// Ksher's real code is UNCONFIRMED, so the words count too).
func duplicateRefusal(ge *gateway.Error) bool {
	t := strings.ToLower(ge.Code + " " + ge.Message)
	return strings.Contains(t, "duplicate") || strings.Contains(t, "already been used") || strings.Contains(t, "already used")
}

func orDefault(s, d string) string {
	if s != "" {
		return s
	}
	return d
}

// send sends refund id once, if it is pending and no earlier send is
// unaccounted for, and records what Ksher's answer means (sendOutcome).
func (s *Refunds) send(ctx context.Context, id int64) error {
	rf, o, ok, err := s.startSend(ctx, id)
	if err != nil || !ok {
		return err
	}
	client, _, err := s.clients.For(ctx, o.AccountID)
	var ans *gateway.Refund
	if err == nil {
		// One attempt, bounded by the client's call timeout.
		ans, err = client.Refunds.Create(gateway.WithoutRetries(ctx), refundParams(rf, o))
	} else if errors.Is(err, ErrGatewayConfig) {
		err = &gateway.Error{Kind: gateway.KindInvalidRequest, Message: "the account's Ksher credentials cannot be used"}
	}
	v := sendOutcome(ans, err, rf.Attempts)
	if err := s.finishSend(ctx, rf, ans, v); err != nil {
		return err // River retries; the row stays in flight, and the retry makes it unknown
	}
	if v.State == RefundPending {
		return river.JobSnooze(v.After)
	}
	return nil
}

// refundParams is the request of a refund: the same every time it is sent.
func refundParams(rf *Refund, o *Order) *gateway.RefundCreateParams {
	p := &gateway.RefundCreateParams{Mid: rf.Mid, RefundID: rf.MchRefundNo, Amount: rf.Amount, OrderAmount: rf.OrderAmount,
		Currency: rf.Currency}
	p.MerchantOrderID, p.KsherOrderID, p.Type, p.Channel = refundOrderRef(rf)
	return p
}

// refundOrderRef names rf's order as it is refunded and asked about: the
// v3 id field and the channel, or the vip family of the path.
func refundOrderRef(rf *Refund) (merchant, ksher *string, family gateway.OrderType, channel *string) {
	id := rf.TargetID
	switch rf.TargetField {
	case "ksher_order_no":
		ksher = &id
	case "mch_order_no":
		merchant = &id
	default: // vip: the field is the order family of the path
		return &id, nil, gateway.OrderType(rf.TargetField), nil
	}
	if rf.Channel != "" {
		ch := rf.Channel
		channel = &ch
	}
	return merchant, ksher, "", channel
}

// startSend marks refund id in flight, or, when an earlier send of it was
// never accounted for (the process stopped mid-call, the outcome's write
// failed), makes it unknown without sending: ok is false then, and when
// the refund is not pending.
func (s *Refunds) startSend(ctx context.Context, id int64) (*Refund, *Order, bool, error) {
	var rf Refund
	var o *Order
	send := false
	err := s.store.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).Where("id = ?", id).Take(&rf).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return nil
			}
			return err
		}
		if rf.Status != RefundPending {
			return nil
		}
		var err error
		if o, err = lockOrder(tx, rf.OrderID); err != nil {
			return err
		}
		if rf.InFlight || rf.Attempts >= maxSends {
			why := "an earlier send's answer was never recorded"
			if !rf.InFlight {
				why = "Ksher kept asking for the refund to be sent again"
			}
			return s.decideTx(tx, &rf, o, sendVerdict{State: RefundUnknown, Code: "lost_answer", Text: why}, nil, BackgroundJob())
		}
		now := s.now()
		rf.InFlight, rf.Attempts = true, rf.Attempts+1
		if rf.SentAt == nil {
			rf.SentAt = &now
		}
		send = true
		return tx.Model(&rf).Updates(map[string]any{"in_flight": true, "attempts": rf.Attempts, "sent_at": rf.SentAt, "updated_at": now}).Error
	})
	if err != nil {
		return nil, nil, false, fmt.Errorf("refunds: start send %d: %w", id, err)
	}
	return &rf, o, send, nil
}

// finishSend records a send's verdict.
func (s *Refunds) finishSend(ctx context.Context, sent *Refund, ans *gateway.Refund, v sendVerdict) error {
	return s.store.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var rf Refund
		if err := tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).Where("id = ?", sent.ID).Take(&rf).Error; err != nil {
			return err
		}
		o, err := lockOrder(tx, rf.OrderID)
		if err != nil {
			return err
		}
		rf.InFlight = false
		if rf.Status != RefundPending {
			// Decided meanwhile (the sync saw Ksher's refund): keep that.
			return tx.Model(&rf).Updates(map[string]any{"in_flight": false, "updated_at": s.now()}).Error
		}
		if v.State == RefundPending {
			return tx.Model(&rf).Updates(map[string]any{"in_flight": false, "error_code": v.Code, "error": Storable([]byte(v.Text), 500),
				"updated_at": s.now()}).Error
		}
		return s.decideTx(tx, &rf, o, v, ans, BackgroundJob())
	})
}

// decideTx moves rf (locked, with its order o) to v.State and records it:
// Ksher's ids and answer, the order's refunded total, a timeline entry and
// an audit entry by who; an unknown refund gets its reconcile job.
func (s *Refunds) decideTx(tx *gorm.DB, rf *Refund, o *Order, v sendVerdict, ans *gateway.Refund, who Actor) error {
	now := s.now()
	set := map[string]any{"status": v.State, "in_flight": false, "error_code": Storable([]byte(v.Code), 100),
		"error": Storable([]byte(v.Text), 500), "updated_at": now}
	if ans != nil {
		set["ksher_refund_no"] = orDefault(ans.KsherRefundID, rf.KsherRefundNo)
		set["channel_refund_no"] = orDefault(ans.ChannelRefundID, rf.ChannelRefundNo)
		if raw := RedactedRaw(ans.Raw); len(raw) > 0 {
			set["raw"] = raw
		}
	}
	switch v.State {
	case RefundSucceeded, RefundFailed:
		set["decided_at"], set["needs_person"] = now, false
	case RefundUnknown:
		if rf.UnknownSince == nil {
			set["unknown_since"] = now
		}
	}
	if err := tx.Model(rf).Updates(set).Error; err != nil {
		return err
	}
	rf.Status = v.State
	if v.State == RefundSucceeded {
		if _, err := s.store.settleRefundedTx(tx, o); err != nil {
			return err
		}
	}
	if err := s.store.addRefundStateEventTx(tx, o, rf, EventRefundState, v.Code); err != nil {
		return err
	}
	if err := s.store.writeAudit(tx, who, AuditRefundOutcome, o.MchOrderNo, o.Mid, map[string]any{"refund_no": rf.MchRefundNo,
		"amount": rf.Amount, "currency": rf.Currency, "state": v.State, "code": v.Code, "ksher": Storable([]byte(v.Text), 300)}); err != nil {
		return err
	}
	if v.State == RefundUnknown {
		_, err := s.jobs.InsertTx(tx.Statement.Context, tx, RefundReconcileArgs{RefundID: rf.ID}, reconcileJobOpts())
		return err
	}
	return nil
}
