package models

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/ksherdash/ksherdash/models/money"
)

// A timeline entry keeps what happened as a stable code and its parameters
// (EventDetail, in order_events.detail), so that each page words it in its
// reader's language. Its summary is the writer's English text: what
// entries written before the codes existed still show.

// Timeline event codes.
const (
	EventAnswer       = "answer"       // Ksher answered a query (a search or a refresh), with its latency
	EventCallFailed   = "call_failed"  // a query got no answer, or Ksher refused it
	EventNotification = "notification" // a verified v3 notification
	EventWebhook      = "webhook"      // a verified vip webhook, checked with a query
	EventSync         = "sync"         // a line of the daily transactions report
	EventSeed         = "seed"         // cached from the sandbox's history
	EventChange       = "change"       // the cache changed for another reason
	EventRefund       = "refund"       // a refund recorded
	// A refund asked for here, and each change of its state (To names it).
	EventRefundRequested = "refund_requested"
	EventRefundState     = "refund_state"
)

// EventDetail is the structured content of a timeline entry. Amounts are
// in minor units of Currency; times are UTC.
type EventDetail struct {
	Code string `json:"code"`
	// What Ksher said about the order, and the cached state before and
	// after the entry.
	Status    string     `json:"status,omitempty"`     // the reported state (Status*)
	RawStatus string     `json:"raw_status,omitempty"` // Ksher's own word for it
	From      string     `json:"from,omitempty"`       // cached state before; "" when the entry created the order
	To        string     `json:"to,omitempty"`         // cached state after
	Created   bool       `json:"created,omitempty"`    // the entry first cached the order
	Amount    int64      `json:"amount,omitempty"`     // the order's amount, or the refund's
	Currency  string     `json:"currency,omitempty"`
	PaidAt    *time.Time `json:"paid_at,omitempty"` // when the entry made the order paid: Ksher's payment time
	// A gateway call (its latency is the entry's LatencyMS).
	Op        string `json:"op,omitempty"`         // the call, when known: order_query, GET /api/v1/redirect/orders, ...
	Memory    bool   `json:"memory,omitempty"`     // answered from the client's 10-second memory, not by Ksher
	ErrorKind string `json:"error_kind,omitempty"` // gateway error kind, "configuration" or "error"
	ErrorCode string `json:"error_code,omitempty"` // Ksher's code for the refusal, when it gave one
	// A notification: its signature verified, and, for a webhook, whether
	// Ksher's answer to the query it triggered confirms it.
	Valid     *bool `json:"valid,omitempty"`
	Confirmed *bool `json:"confirmed,omitempty"`
	// A refund.
	RefundNo string `json:"refund_no,omitempty"`
}

// OrderEvent is one line of an order's timeline.
type OrderEvent struct {
	ID        int64
	OrderID   int64
	CreatedAt time.Time
	Kind      string // lookup, refresh, notification, sync, seed, link, refund...: the entry's label
	Summary   string // the writer's English text (entries without a code show it)
	OK        bool
	LatencyMS *int
	Detail    json.RawMessage `gorm:"type:jsonb"`
}

// Details returns the entry's code and parameters; false for an entry
// without a code, which has only its English summary. The failed calls of
// early versions stored {"op", "error"}: they are read as EventCallFailed.
func (e *OrderEvent) Details() (EventDetail, bool) {
	var d EventDetail
	if len(e.Detail) == 0 || json.Unmarshal(e.Detail, &d) != nil {
		return EventDetail{}, false
	}
	if d.Code != "" {
		return d, true
	}
	var legacy map[string]string
	if json.Unmarshal(e.Detail, &legacy) == nil && legacy["op"] != "" && legacy["error"] != "" && !e.OK {
		return callFailed(legacy["op"], legacy["error"]), true
	}
	return EventDetail{}, false
}

// callFailed is the detail of a failed call; errText is "<kind>" or
// "<kind> <Ksher code>" (handlers' gatewayErrorCode).
func callFailed(op, errText string) EventDetail {
	kind, code, _ := strings.Cut(strings.TrimSpace(errText), " ")
	return EventDetail{Code: EventCallFailed, Op: op, ErrorKind: kind, ErrorCode: code}
}

// upsertEventDetail describes the entry of an upsert: what the update said
// (its kind tells which code) and what it did to the cached order.
func upsertEventDetail(kind string, u OrderUpdate, before, after *Order, isNew bool) EventDetail {
	d := EventDetail{Status: u.Status, RawStatus: u.RawStatus, To: after.Status, Created: isNew,
		Amount: after.Amount, Currency: after.Currency}
	if !isNew {
		d.From = before.Status
	}
	if after.Status == StatusPaid && d.From != StatusPaid && !isNew && after.PaidAt != nil {
		t := after.PaidAt.UTC()
		d.PaidAt = &t
	}
	switch kind {
	case "lookup", "refresh":
		d.Code, d.Memory = EventAnswer, !u.Checked
	case "notification":
		valid := true // only a verified notification reaches the cache
		d.Code, d.Valid = EventNotification, &valid
	case "sync":
		d.Code = EventSync
	case "seed":
		d.Code = EventSeed
	default:
		d.Code = EventChange
	}
	return d
}

// AddOrderEvent appends a timeline entry that is not an upsert: a failed
// gateway call, a vip webhook checked with a query. detail is an
// EventDetail (with its code), or what early callers give: for a failed
// call of kind refresh or lookup, {"op": ..., "error": ...}; for a
// notification, nothing (the entry then records the order's state now).
// summary is the English text kept alongside.
func (s *Store) AddOrderEvent(ctx context.Context, orderID int64, kind, summary string, ok bool, latency time.Duration, detail any) error {
	ev := OrderEvent{OrderID: orderID, CreatedAt: s.now(), Kind: kind, Summary: summary, OK: ok}
	if latency > 0 {
		ms := int(latency.Milliseconds())
		ev.LatencyMS = &ms
	}
	d, err := s.addedEventDetail(ctx, orderID, kind, ok, detail)
	if err != nil {
		return err
	}
	if d != nil {
		detail = d
	}
	if detail != nil {
		b, err := json.Marshal(detail)
		if err != nil {
			return err
		}
		ev.Detail = b
	}
	return s.db.WithContext(ctx).Create(&ev).Error
}

// addedEventDetail maps what AddOrderEvent was given to a coded detail; nil
// when it cannot (the entry keeps the caller's detail and its summary).
func (s *Store) addedEventDetail(ctx context.Context, orderID int64, kind string, ok bool, detail any) (*EventDetail, error) {
	switch d := detail.(type) {
	case EventDetail:
		return &d, nil
	case *EventDetail:
		return d, nil
	case map[string]string:
		if (kind == "refresh" || kind == "lookup") && !ok && d["op"] != "" && d["error"] != "" {
			cf := callFailed(d["op"], d["error"])
			return &cf, nil
		}
	case nil:
		if kind != "notification" {
			return nil, nil
		}
		var o Order
		if err := s.db.WithContext(ctx).Select("status", "amount", "currency").Where("id = ?", orderID).Take(&o).Error; err != nil {
			return nil, notFoundOr(err, "Order")
		}
		valid := true // a webhook is queried about only once its signature verified
		return &EventDetail{Code: EventWebhook, To: o.Status, Amount: o.Amount, Currency: o.Currency,
			Valid: &valid, Confirmed: &ok}, nil
	}
	return nil, nil
}

// addRefundEventTx records on o's timeline a refund just recorded.
func (s *Store) addRefundEventTx(tx *gorm.DB, o *Order, r RefundSeen) error {
	d := EventDetail{Code: EventRefund, RefundNo: r.MchRefundNo, Amount: r.Amount, Currency: o.Currency}
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return tx.Create(&OrderEvent{OrderID: o.ID, CreatedAt: s.now(), Kind: "refund", OK: true, Detail: b,
		Summary: "refund " + r.MchRefundNo + " of " + money.Format(r.Amount, o.Currency) + " " + o.Currency + " recorded"}).Error
}

// addRefundStateEventTx appends a timeline entry of one of our refunds:
// asked for (EventRefundRequested) or its new state (EventRefundState).
func (s *Store) addRefundStateEventTx(tx *gorm.DB, o *Order, r *Refund, code, errCode string) error {
	d := EventDetail{Code: code, RefundNo: r.MchRefundNo, Amount: r.Amount, Currency: r.Currency, To: r.Status, ErrorCode: errCode}
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	summary := "refund " + r.MchRefundNo + " of " + money.Format(r.Amount, r.Currency) + " " + r.Currency
	if code == EventRefundRequested {
		summary += " asked for"
	} else {
		summary += ": " + r.Status
	}
	return tx.Create(&OrderEvent{OrderID: o.ID, CreatedAt: s.now(), Kind: "refund", OK: r.Status != RefundFailed && r.Status != RefundUnknown,
		Detail: b, Summary: summary}).Error
}

// statusSummary is the English text of an upsert's entry its writer gave
// none for.
func statusSummary(from, to string, isNew bool) string {
	if isNew {
		return "cached as " + to
	}
	if from == to {
		return "details updated"
	}
	return from + " → " + to
}

// OrderEvents returns an order's timeline, oldest first.
func (s *Store) OrderEvents(ctx context.Context, orderID int64) ([]OrderEvent, error) {
	var evs []OrderEvent
	err := s.db.WithContext(ctx).Where("order_id = ?", orderID).Order("created_at, id").Find(&evs).Error
	return evs, err
}
