package models

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/ksherdash/ksherdash/gateway"
)

// Order states, the same for both Ksher APIs: gateway.Status values, kept
// as text.
const (
	StatusPending           = string(gateway.StatusPending)
	StatusNotSure           = string(gateway.StatusNotSure)
	StatusPaid              = string(gateway.StatusPaid)
	StatusFailed            = string(gateway.StatusFailed)
	StatusClosed            = string(gateway.StatusClosed)
	StatusRefunded          = string(gateway.StatusRefunded)
	StatusPartiallyRefunded = string(gateway.StatusPartiallyRefunded)
	StatusReversed          = string(gateway.StatusReversed)
	StatusUnknown           = string(gateway.StatusUnknown)
)

// OrderStatuses lists every state, for filters.
var OrderStatuses = []string{StatusPending, StatusNotSure, StatusPaid, StatusFailed, StatusClosed,
	StatusPartiallyRefunded, StatusRefunded, StatusReversed, StatusUnknown}

// IsFinal reports whether an order in this state changes only through a
// new action of ours (a refund): final states are kept in the cache; the
// others are asked about again when viewed. The rule is gateway's
// (gateway.Status.Final, which says why partially refunded is final).
func IsFinal(status string) bool { return gateway.Status(status).Final() }

// Order kinds: how to ask Ksher about an order again.
const (
	OrderKindKsherPay = "ksherpay" // v3 order_query
	OrderKindLink     = "gateway"  // v3 gateway_order_query (a hosted payment link)
	// vip orders use their family: redirect, cscanb, bscanc, app, miniapp.
)

// Order is the cached state of one Ksher order.
type Order struct {
	ID             int64
	AccountID      int64
	Mid            string
	Kind           string
	MchOrderNo     string
	KsherOrderNo   string
	ChannelOrderNo string
	GatewayOrderNo string
	Status         string
	RawStatus      string
	Amount         int64
	Currency       string
	Refunded       int64
	Channel        string
	PaidAmount     int64
	PaidCurrency   string
	Rate           string
	Product        string
	CreatedAt      time.Time
	PaidAt         *time.Time
	CheckedAt      *time.Time
	NotifiedAt     *time.Time
	Source         string
	Raw            json.RawMessage `gorm:"type:jsonb"`
	UpdatedAt      time.Time
}

// Refundable is what may still be refunded.
func (o *Order) Refundable() int64 {
	if o.Status != StatusPaid && o.Status != StatusPartiallyRefunded {
		return 0
	}
	return o.Amount - o.Refunded
}

// Fresh reports whether the cached state can be shown without asking Ksher:
// final states always, others for minAge after Ksher last told us.
func (o *Order) Fresh(now time.Time, minAge time.Duration) bool {
	if IsFinal(o.Status) {
		return true
	}
	return o.CheckedAt != nil && now.Sub(*o.CheckedAt) < minAge
}

// OrderUpdate is what Ksher said about an order (an answer, a notification,
// a report line). Zero values mean "not said" and leave the cache alone.
type OrderUpdate struct {
	AccountID      int64
	Mid            string
	Kind           string
	MchOrderNo     string
	KsherOrderNo   string
	ChannelOrderNo string
	GatewayOrderNo string
	Status         string
	RawStatus      string
	Amount         int64
	Currency       string
	Channel        string
	PaidAmount     int64
	PaidCurrency   string
	Rate           string
	Product        string
	CreatedAt      *time.Time
	PaidAt         *time.Time
	Source         string          // link, lookup, notification, sync, seed, refresh
	Raw            json.RawMessage // the verified answer, no secrets
	Notified       bool            // a valid notification said it
	Checked        bool            // Ksher itself said it just now (answer or notification)
	Event          string          // the timeline entry kind: lookup, refresh, notification, sync, link...
	Summary        string          // short human text for the timeline
	LatencyMS      int
	// Refunds Ksher reports as done for this order (a report line, the
	// sandbox's history). Each is recorded once, by (mid, mch_refund_no), as
	// succeeded, and the order's refunded total follows them.
	Refunds []RefundSeen
}

// RefundSeen is a completed refund of an order as Ksher reported it.
type RefundSeen struct {
	MchRefundNo     string
	KsherRefundNo   string
	ChannelRefundNo string
	Amount          int64
	At              time.Time
}

// UpsertOrder stores what Ksher said about an order and reports whether
// the cache changed. A stale non-final answer never overwrites a final state,
// so replays and late answers change nothing.
func (s *Store) UpsertOrder(ctx context.Context, u OrderUpdate) (*Order, bool, error) {
	var o *Order
	var changed bool
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		o, changed, err = s.upsertOrderTx(tx, u)
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("store: upsert order %s/%s: %w", u.Mid, u.MchOrderNo, err)
	}
	return o, changed, nil
}

func (s *Store) upsertOrderTx(tx *gorm.DB, u OrderUpdate) (*Order, bool, error) {
	if u.Mid == "" || u.MchOrderNo == "" {
		return nil, false, Errorf(EINVALID, "An order needs a mid and a merchant order number.")
	}
	now := s.now()
	var o Order
	err := tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).
		Where("mid = ? AND mch_order_no = ?", u.Mid, u.MchOrderNo).Take(&o).Error
	if errors.Is(err, gorm.ErrRecordNotFound) && u.Kind != OrderKindLink {
		// A v3 order_query answers about the KsherPay order behind a payment
		// link under its pay_mch_order_no, which the link's row keeps as its
		// gateway number: that answer belongs to the link's row.
		err = tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).
			Where("mid = ? AND gateway_order_no = ? AND kind = ?", u.Mid, u.MchOrderNo, OrderKindLink).Take(&o).Error
		if err == nil {
			u.GatewayOrderNo, u.Kind = "", ""
		}
	}
	isNew := errors.Is(err, gorm.ErrRecordNotFound)
	if err != nil && !isNew {
		return nil, false, err
	}
	before := o
	if isNew {
		o = Order{AccountID: u.AccountID, Mid: u.Mid, MchOrderNo: u.MchOrderNo, Status: StatusUnknown,
			Currency: "THB", CreatedAt: now, Source: u.Source}
		if u.CreatedAt != nil {
			o.CreatedAt = u.CreatedAt.UTC()
		}
	}
	setStr := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	setStr(&o.Kind, u.Kind)
	setStr(&o.KsherOrderNo, u.KsherOrderNo)
	setStr(&o.ChannelOrderNo, u.ChannelOrderNo)
	setStr(&o.GatewayOrderNo, u.GatewayOrderNo)
	setStr(&o.Currency, u.Currency)
	setStr(&o.Channel, u.Channel)
	setStr(&o.PaidCurrency, u.PaidCurrency)
	setStr(&o.Rate, u.Rate)
	setStr(&o.Product, u.Product)
	if u.Amount > 0 {
		o.Amount = u.Amount
	}
	if u.PaidAmount > 0 {
		o.PaidAmount = u.PaidAmount
	}
	if u.PaidAt != nil && o.PaidAt == nil {
		t := u.PaidAt.UTC()
		o.PaidAt = &t
	}
	if u.Status != "" && acceptStatus(o.Status, u.Status) {
		o.Status = u.Status
		setStr(&o.RawStatus, u.RawStatus)
	}
	// Gateways say "refunded" for partial refunds too; our refunds know better.
	if o.Status == StatusRefunded && o.Refunded > 0 && o.Refunded < o.Amount {
		o.Status = StatusPartiallyRefunded
	}
	if o.Status == StatusPaid && o.PaidAt == nil && u.Checked {
		o.PaidAt = &now
	}
	changed := isNew || o.Status != before.Status || o.KsherOrderNo != before.KsherOrderNo ||
		o.ChannelOrderNo != before.ChannelOrderNo || o.Amount != before.Amount || o.Channel != before.Channel
	if u.Checked {
		o.CheckedAt = &now
	}
	if u.Notified {
		o.NotifiedAt = &now
	}
	if len(u.Raw) > 0 && json.Valid(u.Raw) {
		o.Raw = u.Raw
	}
	o.UpdatedAt = now
	if err := tx.Save(&o).Error; err != nil {
		return nil, false, notFoundOr(err, "Order")
	}
	// A payment link's state follows its order (link.go); refunds below
	// keep a paid order paid-like.
	if err := s.followOrderTx(tx, &o); err != nil {
		return nil, false, err
	}
	if len(u.Refunds) > 0 {
		refundChanged, err := s.recordRefundsTx(tx, &o, u.Refunds)
		if err != nil {
			return nil, false, err
		}
		changed = changed || refundChanged
	}
	if s.onRefundSeen != nil && (len(u.Refunds) > 0 || u.Status == StatusRefunded || u.Status == StatusPartiallyRefunded) {
		if err := s.onRefundSeen(tx, o.ID); err != nil {
			return nil, false, err
		}
	}
	if u.Event != "" || changed {
		kind, summary := u.Event, u.Summary
		if kind == "" {
			kind = u.Source
		}
		if summary == "" && changed {
			summary = statusSummary(before.Status, o.Status, isNew)
		}
		detail, err := json.Marshal(upsertEventDetail(kind, u, &before, &o, isNew))
		if err != nil {
			return nil, false, err
		}
		ev := OrderEvent{OrderID: o.ID, CreatedAt: now, Kind: kind, Summary: summary, OK: true, Detail: detail}
		if u.LatencyMS > 0 {
			ev.LatencyMS = &u.LatencyMS
		}
		if err := tx.Create(&ev).Error; err != nil {
			return nil, false, err
		}
	}
	return &o, changed, nil
}

// acceptStatus decides whether a reported status may replace the cached
// one: never from a final state back to an open one (a stale or replayed
// answer), never from refunded back to paid.
func acceptStatus(cur, next string) bool {
	if cur == next || cur == "" || cur == StatusUnknown {
		return true
	}
	if IsFinal(cur) && !IsFinal(next) {
		return false
	}
	if (cur == StatusRefunded || cur == StatusPartiallyRefunded) && next == StatusPaid {
		return false
	}
	return true
}

// FindOrder returns one order of one of mids by its cache id, or ENOTFOUND.
func (s *Store) FindOrder(ctx context.Context, mids []string, id int64) (*Order, error) {
	var o Order
	err := s.db.WithContext(ctx).Where("id = ? AND mid IN ?", id, mids).Take(&o).Error
	if err != nil {
		return nil, notFoundOr(err, "Order")
	}
	return &o, nil
}

// OrderHit is a search result: an order and which of its numbers matched.
type OrderHit struct {
	Order
	MatchedBy string // mch_order_no, ksher_order_no, channel_order_no, gateway_order_no, refund
}

// FindOrdersByAnyID finds the orders of mids carrying id as a merchant,
// Ksher, channel or gateway order number, or as one of their refund numbers.
// Each branch uses its own index.
func (s *Store) FindOrdersByAnyID(ctx context.Context, mids []string, id string) ([]OrderHit, error) {
	id = strings.TrimSpace(id)
	if id == "" || len(mids) == 0 {
		return nil, nil
	}
	const q = `
SELECT o.*, 'mch_order_no' AS matched_by, 1 AS prio FROM orders o WHERE o.mch_order_no = @id AND o.mid IN @mids
UNION ALL SELECT o.*, 'ksher_order_no', 2 FROM orders o WHERE o.ksher_order_no = @id AND o.ksher_order_no <> '' AND o.mid IN @mids
UNION ALL SELECT o.*, 'channel_order_no', 3 FROM orders o WHERE o.channel_order_no = @id AND o.channel_order_no <> '' AND o.mid IN @mids
UNION ALL SELECT o.*, 'gateway_order_no', 4 FROM orders o WHERE o.gateway_order_no = @id AND o.gateway_order_no <> '' AND o.mid IN @mids
UNION ALL SELECT o.*, 'refund', 5 FROM refunds r JOIN orders o ON o.id = r.order_id
      WHERE (r.mch_refund_no = @id OR (r.ksher_refund_no = @id AND r.ksher_refund_no <> '') OR (r.channel_refund_no = @id AND r.channel_refund_no <> ''))
        AND r.mid IN @mids
ORDER BY prio, id
LIMIT 50`
	var rows []OrderHit
	if err := s.db.WithContext(ctx).Raw(q, map[string]any{"id": id, "mids": mids}).Scan(&rows).Error; err != nil {
		return nil, err
	}
	// UNION ALL, then one row per order here, named by the first kind of
	// number that matched (prio: merchant, Ksher, channel, gateway, refund):
	// UNION would compare whole rows (raw answers included).
	seen := make(map[int64]bool, len(rows))
	hits := rows[:0]
	for _, h := range rows {
		if !seen[h.ID] {
			seen[h.ID] = true
			hits = append(hits, h)
		}
	}
	return hits, nil
}

// OrderFilter selects orders for the list. Times are UTC bounds.
type OrderFilter struct {
	Mids      []string
	From      *time.Time // inclusive
	To        *time.Time // exclusive
	Statuses  []string
	Channels  []string
	MinAmount *int64
	MaxAmount *int64
	Text      string // an id, or the start of a merchant order number
	Sort      string // "newest" (default), "oldest", "amount_desc", "amount_asc"
	After     string // keyset cursor: the page after this row (Next of a page)
	Before    string // keyset cursor: the page before this row (Prev of a page)
	Limit     int    // 25, 50 or 100
}

// Sorts lists the accepted OrderFilter.Sort values.
var Sorts = []string{"newest", "oldest", "amount_desc", "amount_asc"}

// PageSizes lists the accepted OrderFilter.Limit values; the first is the default.
var PageSizes = []int{25, 50, 100}

// OrderPage is one page of the orders list with the cursors of its
// neighbours ("" where there is none).
type OrderPage struct {
	Rows []Order
	Next string // OrderFilter.After for the following page
	Prev string // OrderFilter.Before for the preceding page
}

// ListOrders returns one page of orders and the cursor of the next page
// ("" on the last). Keyset pagination: the cost of a page does not grow
// with its depth.
func (s *Store) ListOrders(ctx context.Context, f OrderFilter) ([]Order, string, error) {
	p, err := s.ListOrdersPage(ctx, f)
	if err != nil {
		return nil, "", err
	}
	return p.Rows, p.Next, nil
}

// ListOrdersPage returns one page of orders, walking forwards from
// f.After or backwards from f.Before (keyset pagination over the sort
// column and id, served by the (mid, created_at, id) indexes). EINVALID for
// a cursor that does not parse.
func (s *Store) ListOrdersPage(ctx context.Context, f OrderFilter) (*OrderPage, error) {
	page := &OrderPage{}
	if len(f.Mids) == 0 {
		return page, nil
	}
	if !slices.Contains(PageSizes, f.Limit) {
		f.Limit = PageSizes[0]
	}
	q := s.db.WithContext(ctx).Model(&Order{})
	if len(f.Mids) == 1 {
		q = q.Where("mid = ?", f.Mids[0])
	} else {
		q = q.Where("mid IN ?", f.Mids)
	}
	if f.From != nil {
		q = q.Where("created_at >= ?", *f.From)
	}
	if f.To != nil {
		q = q.Where("created_at < ?", *f.To)
	}
	if len(f.Statuses) > 0 {
		q = q.Where("status IN ?", f.Statuses)
	}
	if len(f.Channels) > 0 {
		q = q.Where("channel IN ?", f.Channels)
	}
	if f.MinAmount != nil {
		q = q.Where("amount >= ?", *f.MinAmount)
	}
	if f.MaxAmount != nil {
		q = q.Where("amount <= ?", *f.MaxAmount)
	}
	if t := strings.TrimSpace(f.Text); t != "" {
		q = q.Where("(mch_order_no LIKE ? OR ksher_order_no = ? OR channel_order_no = ? OR gateway_order_no = ?)",
			escapeLike(t)+"%", t, t, t)
	}
	col, desc := "created_at", true
	switch f.Sort {
	case "oldest":
		desc = false
	case "amount_desc":
		col = "amount"
	case "amount_asc":
		col, desc = "amount", false
	}
	cursor, backwards := f.After, false
	if f.Before != "" {
		cursor, backwards = f.Before, true
	}
	// Walking backwards reads the rows before the cursor in reverse order,
	// then turns them around.
	scanDesc := desc != backwards
	if cursor != "" {
		key, id, err := decodeCursor(cursor)
		if err != nil {
			return nil, errorID(EINVALID, "error.bad_page_link", "The page link is not valid; start from the first page.")
		}
		op := ">"
		if scanDesc {
			op = "<"
		}
		var v any = key
		if col == "created_at" {
			v = time.Unix(0, key).UTC()
		}
		q = q.Where(fmt.Sprintf("(%s, id) %s (?, ?)", col, op), v, id)
	}
	dir := " ASC"
	if scanDesc {
		dir = " DESC"
	}
	var rows []Order
	if err := q.Order(col + dir).Order("id" + dir).Limit(f.Limit + 1).Find(&rows).Error; err != nil {
		return nil, err
	}
	more := len(rows) > f.Limit
	if more {
		rows = rows[:f.Limit]
	}
	if backwards {
		slices.Reverse(rows)
	}
	page.Rows = rows
	if len(rows) == 0 {
		return page, nil
	}
	cursorOf := func(o Order) string {
		key := o.CreatedAt.UnixNano()
		if col == "amount" {
			key = o.Amount
		}
		return strconv.FormatInt(key, 36) + "." + strconv.FormatInt(o.ID, 36)
	}
	first, last := cursorOf(rows[0]), cursorOf(rows[len(rows)-1])
	switch {
	case backwards:
		page.Next = last // the page we came from follows
		if more {
			page.Prev = first
		}
	default:
		if more {
			page.Next = last
		}
		if cursor != "" {
			page.Prev = first
		}
	}
	return page, nil
}

func decodeCursor(c string) (int64, int64, error) {
	a, b, ok := strings.Cut(c, ".")
	if !ok {
		return 0, 0, errors.New("bad cursor")
	}
	key, err := strconv.ParseInt(a, 36, 64)
	if err != nil {
		return 0, 0, err
	}
	id, err := strconv.ParseInt(b, 36, 64)
	return key, id, err
}

// recordRefundsTx stores the refunds Ksher reported for o (once each, by
// mid and refund number) and sets o's refunded total and state from the
// succeeded ones. It reports whether o changed.
func (s *Store) recordRefundsTx(tx *gorm.DB, o *Order, seen []RefundSeen) (bool, error) {
	for _, r := range seen {
		if r.MchRefundNo == "" || r.Amount <= 0 {
			continue
		}
		at := r.At
		if at.IsZero() {
			at = s.now()
		}
		// xmax is 0 in a row this statement inserted (not one it updated).
		var inserted bool
		err := tx.Raw(`INSERT INTO refunds (order_id, mid, mch_refund_no, ksher_refund_no, channel_refund_no, amount, currency, status, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, 'succeeded', ?, ?)
			ON CONFLICT (mid, mch_refund_no) DO UPDATE SET
				ksher_refund_no = COALESCE(NULLIF(refunds.ksher_refund_no, ''), EXCLUDED.ksher_refund_no),
				channel_refund_no = COALESCE(NULLIF(refunds.channel_refund_no, ''), EXCLUDED.channel_refund_no),
				-- Ksher reporting one of our refunds as done decides it, whatever
				-- we thought (the money moved); in_flight stays for the sender.
				status = 'succeeded', needs_person = false,
				decided_at = COALESCE(refunds.decided_at, EXCLUDED.updated_at),
				error = CASE WHEN refunds.status = 'succeeded' THEN refunds.error ELSE 'reported done by Ksher' END
			RETURNING (xmax = 0)`,
			o.ID, o.Mid, r.MchRefundNo, r.KsherRefundNo, r.ChannelRefundNo, r.Amount, o.Currency, at.UTC(), s.now()).Scan(&inserted).Error
		if err != nil {
			return false, err
		}
		if inserted {
			if err := s.addRefundEventTx(tx, o, r); err != nil {
				return false, err
			}
		}
	}
	return s.settleRefundedTx(tx, o)
}

// settleRefundedTx sets o's refunded total and state from its succeeded
// refunds (never lowering what Ksher reported) and reports whether o
// changed. The caller holds o's row lock.
func (s *Store) settleRefundedTx(tx *gorm.DB, o *Order) (bool, error) {
	var sum int64
	if err := tx.Raw("SELECT COALESCE(SUM(amount), 0) FROM refunds WHERE order_id = ? AND status = 'succeeded'", o.ID).Scan(&sum).Error; err != nil {
		return false, err
	}
	sum = min(sum, o.Amount)
	if sum <= o.Refunded {
		return false, nil
	}
	o.Refunded = sum
	if o.Status == StatusPaid || o.Status == StatusRefunded || o.Status == StatusPartiallyRefunded || o.Status == StatusUnknown {
		o.Status = StatusPartiallyRefunded
		if o.Refunded == o.Amount {
			o.Status = StatusRefunded
		}
	}
	return true, tx.Model(o).Updates(map[string]any{"refunded": o.Refunded, "status": o.Status}).Error
}

// UpsertOrders stores many answers in one transaction (a report, the
// sandbox's history) and returns how many orders changed.
func (s *Store) UpsertOrders(ctx context.Context, us []OrderUpdate) (int, error) {
	n := 0
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, u := range us {
			_, changed, err := s.upsertOrderTx(tx, u)
			if err != nil {
				return fmt.Errorf("%s/%s: %w", u.Mid, u.MchOrderNo, err)
			}
			if changed {
				n++
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: upsert orders: %w", err)
	}
	return n, nil
}

// CachedOrderNos returns the merchant order numbers cached for mid.
func (s *Store) CachedOrderNos(ctx context.Context, mid string) (map[string]bool, error) {
	var nos []string
	if err := s.db.WithContext(ctx).Model(&Order{}).Where("mid = ?", mid).Pluck("mch_order_no", &nos).Error; err != nil {
		return nil, err
	}
	set := make(map[string]bool, len(nos))
	for _, n := range nos {
		set[n] = true
	}
	return set, nil
}

// LastUpstreamCall returns when Ksher was last asked about key (zero time
// if never) and whether that call found something.
func (s *Store) LastUpstreamCall(ctx context.Context, key string) (time.Time, bool, error) {
	var last struct {
		CalledAt time.Time
		Found    bool
	}
	err := s.db.WithContext(ctx).Raw("SELECT called_at, found FROM upstream_calls WHERE key = ?", key).Scan(&last).Error
	return last.CalledAt, last.Found, err
}

// KnownChannels are Ksher's payment channel codes (API.md E.2), offered in
// list filters.
var KnownChannels = []string{"promptpay", "bbl_promptpay", "truemoney", "linepay", "airpay", "alipay", "alipayplus",
	"wechat", "atome", "card", "ktbcard", "ktccard", "scb_easy", "bbl_deeplink", "baybank_deeplink", "kplus",
	"ktc_instal", "kbank_instal", "kcc_instal", "kfc_instal"}
