package models

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/ksherdash/ksherdash/gateway"
)

// The order cache's rules, all in this file:
//
//   - Final states (gateway.Status.Final: paid, failed, closed, refunded,
//     partially refunded, reversed) are kept: a view never asks Ksher about
//     them; the refresh button still may.
//   - Other states are asked about again when viewed, once Ksher last told
//     us (CheckedAt) more than QueryGap ago.
//   - Every question to Ksher about one order goes through
//     Store.Upstream under the key "order:<mid>:<mch_order_no>", and
//     every search under "find:<mid>:<id>": one call at a time per key and
//     never two within QueryGap, across all replicas. The gateway client
//     adds its own in-process 10-second guard (it may answer Meta.Cached).
//   - Every gateway call about a cached order is a line of its timeline,
//     with its latency and result.
//   - The functions passed to Upstream touch only the gateway, and a
//     search's lookup budget (one short transaction before Ksher is asked,
//     lookup_budget.go), never the rest of the store: callers of the same
//     key wait while they run.

// QueryGap is Ksher's minimum spacing between two queries of one order.
const QueryGap = gateway.QueryInterval

// interactiveCallTimeout bounds one gateway call made while a person waits
// for a page. Being shorter than QueryGap, it also means a failed query is
// not retried (the client spaces retries of a query by QueryGap): the page
// says Ksher did not answer rather than hanging for 20 s.
const interactiveCallTimeout = 8 * time.Second

// Orders is the order cache's service: it decides when Ksher is asked
// about an order (the rules above), asks it through the account's client
// (GatewayClients) under the Upstream lease, and records the answer. The
// order pages, the search, the drift re-sync and the vip webhook all ask
// through it. Safe for concurrent use.
type Orders struct {
	store   *Store
	clients *GatewayClients
	log     *slog.Logger
	now     func() time.Time

	mu     sync.Mutex
	limits LookupLimits // the budgets of people's searches (lookup_budget.go)
}

// NewOrders returns the orders service over store, asking Ksher through
// clients (the process's one cache of clients). People's searches get
// DefaultLookupLimits until LimitLookups says otherwise.
func NewOrders(store *Store, clients *GatewayClients, log *slog.Logger) *Orders {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Orders{store: store, clients: clients, log: log, now: time.Now, limits: DefaultLookupLimits}
}

// Clients returns the cache of Ksher clients the service asks through.
func (s *Orders) Clients() *GatewayClients { return s.clients }

// orderKey is the Upstream key of every question about one cached order.
func orderKey(mid, mchOrderNo string) string { return "order:" + mid + ":" + mchOrderNo }
func findKey(mid, id string) string          { return "find:" + mid + ":" + id }

// OrderUpdateFrom maps a gateway answer about an order to a cache update.
// kind says how to ask about it again (OrderKindKsherPay, or the vip
// family: redirect, cscanb, ...). An answer the client served from its
// 10-second memory (Meta.Cached) is not a new word from Ksher: it does not
// count as checked.
func OrderUpdateFrom(accountID int64, kind string, o *gateway.Order) OrderUpdate {
	u := OrderUpdate{AccountID: accountID, Mid: o.Mid, Kind: kind, MchOrderNo: o.MerchantOrderID,
		KsherOrderNo: o.KsherOrderID, ChannelOrderNo: o.ChannelOrderID, GatewayOrderNo: o.GatewayOrderID,
		Status: string(o.Status), RawStatus: o.RawStatus, Amount: o.Amount, Currency: o.Currency, Channel: o.Channel,
		PaidAmount: o.PaidAmount, PaidCurrency: o.PaidCurrency, Rate: o.Rate, Raw: o.Raw, Checked: !o.Cached}
	if !o.PaidAt.IsZero() {
		u.PaidAt = timePtr(o.PaidAt)
		u.CreatedAt = timePtr(o.PaidAt) // v3 answers carry no creation time: the payment time stands in
	}
	if !o.CreatedAt.IsZero() {
		u.CreatedAt = timePtr(o.CreatedAt)
	}
	return u
}

// OrderUpdateFromLink maps a gateway answer about a hosted payment link.
// On v3 the link's row keeps the KsherPay order behind it (PayOrderID) as
// its gateway number; a vip link is a redirect order.
func OrderUpdateFromLink(accountID int64, l *gateway.PaymentLink) OrderUpdate {
	u := OrderUpdate{AccountID: accountID, Mid: l.Mid, Kind: OrderKindLink, MchOrderNo: l.MerchantOrderID,
		KsherOrderNo: l.KsherOrderID, ChannelOrderNo: l.ChannelOrderID, GatewayOrderNo: l.PayOrderID,
		Status: string(l.Status), RawStatus: l.RawStatus, Amount: l.Amount, Currency: l.Currency, Channel: l.Channel,
		Raw: l.Raw, Checked: !l.Cached}
	if l.API == gateway.APIVIP {
		u.Kind, u.GatewayOrderNo = string(gateway.OrderTypeRedirect), l.GatewayOrderID
	}
	if !l.PaidAt.IsZero() {
		u.PaidAt = timePtr(l.PaidAt)
	}
	return u
}

// timePtr is a copy of t to point at.
func timePtr(t time.Time) *time.Time { return &t }

// vipFamilies are the vip order families a search tries, most common first.
var vipFamilies = []gateway.OrderType{gateway.OrderTypeRedirect, gateway.OrderTypeCScanB, gateway.OrderTypeBScanC,
	gateway.OrderTypeApp, gateway.OrderTypeMiniApp}

// ksherNumberRe matches Ksher's own order numbers (9002020062319274177818...).
var ksherNumberRe = regexp.MustCompile(`^9[0-9]{19,31}$`)

// lookupStep is one question a search may ask Ksher.
type lookupStep struct {
	Label string // what was asked: "ksher_order_no", "mch_order_no", "payment_link", "channel_order_no", or a vip family
	run   func(ctx context.Context) (*OrderUpdate, error)
}

// lookupPlan is the search heuristic: the questions to ask Ksher about id
// on one mid, in order, stopping at the first that finds the order.
//
//   - v3: a Ksher number (20 to 32 digits starting with 9) is asked by
//     ksher_order_no only. Anything else by mch_order_no (order_query), then
//     as a payment link's mch_order_no (gateway_order_query: links are not
//     KsherPay orders), then by channel_order_no.
//   - vip: the gateway knows merchant_order_id only, per order family:
//     redirect, cscanb, bscanc, app, miniapp. A refund_order_id answers with
//     the refund record, whose reference names the order, asked next.
//
// Refund numbers are found in the cache only on v3: refund_query needs the
// order's number too.
func lookupPlan(c *gateway.Client, a *MerchantAccount, mid, id string) []lookupStep {
	v3 := func(label string, p gateway.OrderGetParams) lookupStep {
		return lookupStep{Label: label, run: func(ctx context.Context) (*OrderUpdate, error) {
			p.Mid = mid
			o, err := c.Orders.Get(ctx, &p)
			if err != nil {
				return nil, err
			}
			u := OrderUpdateFrom(a.ID, OrderKindKsherPay, o)
			return &u, nil
		}}
	}
	if c.API() == gateway.APIV3 {
		if ksherNumberRe.MatchString(id) {
			return []lookupStep{v3("ksher_order_no", gateway.OrderGetParams{KsherOrderID: &id})}
		}
		link := lookupStep{Label: "payment_link", run: func(ctx context.Context) (*OrderUpdate, error) {
			l, err := c.PaymentLinks.Get(ctx, &gateway.PaymentLinkGetParams{Mid: mid, MerchantOrderID: id})
			if err != nil {
				return nil, err
			}
			u := OrderUpdateFromLink(a.ID, l)
			return &u, nil
		}}
		return []lookupStep{v3("mch_order_no", gateway.OrderGetParams{MerchantOrderID: &id}), link,
			v3("channel_order_no", gateway.OrderGetParams{ChannelOrderID: &id})}
	}
	steps := make([]lookupStep, 0, len(vipFamilies))
	for _, fam := range vipFamilies {
		steps = append(steps, lookupStep{Label: string(fam), run: func(ctx context.Context) (*OrderUpdate, error) {
			return vipLookup(ctx, c, a.ID, mid, fam, id)
		}})
	}
	return steps
}

// vipLookup asks the vip gateway about id in one family. A refund record
// leads to its order, which carries the refund.
func vipLookup(ctx context.Context, c *gateway.Client, accountID int64, mid string, fam gateway.OrderType, id string) (*OrderUpdate, error) {
	o, err := c.Orders.Get(ctx, &gateway.OrderGetParams{Mid: mid, MerchantOrderID: &id, Type: fam})
	if err != nil {
		return nil, err
	}
	if o.Kind == gateway.OrderKindRefund {
		if o.RefundOf == "" || o.RefundOf == id {
			return nil, &gateway.Error{Kind: gateway.KindAPI, Code: codeRefundWithoutOrder}
		}
		u, err := vipLookup(ctx, c, accountID, mid, fam, o.RefundOf)
		if err != nil {
			return nil, err
		}
		u.Refunds = []RefundSeen{{MchRefundNo: id, KsherRefundNo: o.GatewayOrderID, Amount: absMinor(o.Amount)}}
		return u, nil
	}
	kind := string(fam)
	if o.Type != "" {
		kind = string(o.Type) // the family Ksher names (api_name)
	}
	u := OrderUpdateFrom(accountID, kind, o)
	return &u, nil
}

func absMinor(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

// orderNotKnown reports whether a gateway error means "Ksher does not know the
// order under this question" (so the next question may be asked), as
// opposed to a failure to get an answer at all. Ksher says so with v3's
// KSHER_INVALID_ORDER_NO and the vip gateway's 404; its other refusals
// (a signature or token it rejects, SYSTEMERROR, a failed call) are no
// answer about the order. Questions this API cannot ask, or that are
// refused before sending, are skipped too.
func orderNotKnown(err error) bool {
	if gateway.IsKind(err, gateway.KindInvalidRequest) || gateway.IsKind(err, gateway.KindUnsupported) {
		return true
	}
	var ge *gateway.Error
	if !errors.As(err, &ge) || ge.Kind != gateway.KindAPI {
		return false
	}
	return ge.Code == gateway.CodeInvalidOrderNo || ge.HTTPStatus == http.StatusNotFound || ge.Code == codeRefundWithoutOrder
}

// codeRefundWithoutOrder: a vip refund record that names no order.
const codeRefundWithoutOrder = "REFUND_WITHOUT_ORDER"

// GatewayErrorCode is a short, secret-free name for a failed call (the
// timeline and the notices show it): "<kind> <Ksher code>".
func GatewayErrorCode(err error) string {
	var ge *gateway.Error
	if errors.As(err, &ge) {
		if ge.Code != "" {
			return string(ge.Kind) + " " + ge.Code
		}
		return string(ge.Kind)
	}
	if errors.Is(err, ErrGatewayConfig) {
		return "configuration"
	}
	return "error"
}

// UpstreamNote is what happened when a page wanted Ksher's word.
type UpstreamNote struct {
	Called  bool          // this request asked Ksher
	Found   bool          // Ksher knew the order
	At      time.Time     // when Ksher was last asked (zero: never)
	Latency time.Duration // of this request's call
	Tried   []string      // the questions asked (lookupStep labels)
	API     string        // the account's Ksher API (searches)
	// OverBudget: a search not sent to Ksher, its lookup budget being spent.
	OverBudget *OverBudget
	Err        error // why there is no answer: a domain *Error (GatewayError) or a store failure
	// Answer is what Ksher said about the order when this request asked it
	// and it answered (refreshes). The cache may have kept a final state
	// against it (a paid order stays paid when Ksher says pending), so it
	// is the only record of Ksher's own word.
	Answer *OrderUpdate
}

// NextAt is when Ksher may be asked again.
func (u UpstreamNote) NextAt() time.Time {
	if u.At.IsZero() {
		return time.Time{}
	}
	return u.At.Add(QueryGap)
}

// queryOrder asks Ksher about a cached order the way its kind needs.
func queryOrder(ctx context.Context, c *gateway.Client, o *Order) (*OrderUpdate, string, error) {
	mch := o.MchOrderNo
	switch {
	case c.API() == gateway.APIV3 && o.Kind == OrderKindLink:
		l, err := c.PaymentLinks.Get(ctx, &gateway.PaymentLinkGetParams{Mid: o.Mid, MerchantOrderID: mch})
		if err != nil {
			return nil, "gateway_order_query", err
		}
		u := OrderUpdateFromLink(o.AccountID, l)
		return &u, "gateway_order_query", nil
	case c.API() == gateway.APIV3:
		g, err := c.Orders.Get(ctx, &gateway.OrderGetParams{Mid: o.Mid, MerchantOrderID: &mch})
		if err != nil {
			return nil, "order_query", err
		}
		u := OrderUpdateFrom(o.AccountID, OrderKindKsherPay, g)
		return &u, "order_query", nil
	}
	fam := gateway.OrderType(o.Kind)
	if fam == "" || fam == OrderKindLink {
		fam = gateway.OrderTypeRedirect
	}
	g, err := c.Orders.Get(ctx, &gateway.OrderGetParams{Mid: o.Mid, MerchantOrderID: &mch, Type: fam})
	op := "GET /api/v1/" + string(fam) + "/orders"
	if err != nil {
		return nil, op, err
	}
	u := OrderUpdateFrom(o.AccountID, string(fam), g)
	return &u, op, nil
}

// NextAskAt is when Ksher may next be asked about o: QueryGap after it last
// spoke about it (a call through Upstream on any replica, or an answer or
// notification that checked the order); zero when it may be asked now.
func (s *Orders) NextAskAt(ctx context.Context, o *Order) (time.Time, error) {
	last, _, err := s.store.LastUpstreamCall(ctx, orderKey(o.Mid, o.MchOrderNo))
	if err != nil {
		return time.Time{}, err
	}
	if o.CheckedAt != nil && o.CheckedAt.After(last) {
		last = *o.CheckedAt
	}
	if next := last.Add(QueryGap); s.now().Before(next) {
		return next, nil
	}
	return time.Time{}, nil
}

// Refresh brings a cached order up to date per the cache rules and
// returns it (reloaded when Ksher was asked) with what happened. force is
// the refresh button: it asks about final states too, still no sooner than
// QueryGap after Ksher last spoke about the order.
func (s *Orders) Refresh(ctx context.Context, o *Order, force bool) (*Order, UpstreamNote) {
	now := s.now()
	var up UpstreamNote
	if o.CheckedAt != nil {
		up.At = *o.CheckedAt
	}
	if !force && o.Fresh(now, QueryGap) {
		return o, up
	}
	if o.CheckedAt != nil && now.Sub(*o.CheckedAt) < QueryGap {
		return o, up // Ksher told us moments ago (an answer or a notification)
	}
	if last, _, err := s.store.LastUpstreamCall(ctx, orderKey(o.Mid, o.MchOrderNo)); err == nil && last.After(up.At) {
		up.At = last
	}
	client, _, err := s.clients.For(ctx, o.AccountID)
	if err != nil {
		up.Err = GatewayError(err)
		return o, up
	}
	var op string
	var callErr error
	res, err := s.store.Upstream(ctx, orderKey(o.Mid, o.MchOrderNo), QueryGap, func(ctx context.Context) ([]OrderUpdate, bool, error) {
		start := time.Now()
		var u *OrderUpdate
		cctx, cancel := context.WithTimeout(ctx, interactiveCallTimeout)
		u, op, callErr = queryOrder(cctx, client, o)
		cancel()
		up.Latency = time.Since(start)
		if callErr != nil {
			return nil, false, callErr
		}
		u.MchOrderNo = o.MchOrderNo // a link's answer names its KsherPay order; keep the row
		u.Source, u.Event, u.LatencyMS = "refresh", "refresh", max(1, int(up.Latency.Milliseconds()))
		u.Summary = fmt.Sprintf("%s: %s", op, u.Status)
		if u.RawStatus != "" {
			u.Summary += " (" + u.RawStatus + ")"
		}
		if !u.Checked {
			u.Summary += " · answered from the client's 10-second memory"
		}
		answer := *u
		up.Answer = &answer
		return []OrderUpdate{*u}, true, nil
	})
	up.Called, up.Found, up.At = res.Called, res.Found, res.CalledAt
	if err != nil || callErr != nil {
		up.Answer = nil // not stored, or no answer
	}
	if err != nil && callErr == nil {
		up.Err = err // the store failed
		return o, up
	}
	if res.Called && callErr != nil {
		if !orderNotKnown(callErr) {
			up.Err = GatewayError(callErr) // no answer; "not known" is an answer (Found false)
		}
		summary := op + ": " + GatewayErrorCode(callErr)
		if err := s.store.AddOrderEvent(ctx, o.ID, "refresh", summary, false, up.Latency, map[string]string{"op": op, "error": GatewayErrorCode(callErr)}); err != nil {
			s.log.Warn("Cannot record a gateway call in the timeline.", "order_id", o.ID, slog.Any("error", err))
		}
		return o, up
	}
	if fresh, err := s.store.FindOrder(ctx, []string{o.Mid}, o.ID); err == nil {
		o = fresh
	}
	return o, up
}

// FindLive asks Ksher about id on one mid, per lookupPlan, through the
// "find" guard. The answer lands in the cache (Upstream stores it). search
// is the person's search it is part of: the first question that reaches
// Ksher spends its lookup budget (lookup_budget.go); over budget, Ksher is
// not asked and the note says so (OverBudget). A nil search spends none.
func (s *Orders) FindLive(ctx context.Context, a MidAccess, id string, search *LiveSearch) UpstreamNote {
	var up UpstreamNote
	client, acct, err := s.clients.For(ctx, a.Mid.AccountID)
	if err != nil {
		up.Err = GatewayError(err)
		return up
	}
	up.API = string(client.API())
	plan := lookupPlan(client, acct, a.Mid.Mid, id)
	if up.OverBudget = search.refusal(acct.ID); up.OverBudget != nil {
		return up // refused earlier in this search: no need to ask the budget again
	}
	var callErr error
	res, err := s.store.Upstream(ctx, findKey(a.Mid.Mid, id), QueryGap, func(ctx context.Context) ([]OrderUpdate, bool, error) {
		if err := search.spend(ctx, acct); err != nil {
			return nil, false, &notAskedError{err}
		}
		for _, step := range plan {
			up.Tried = append(up.Tried, step.Label)
			start := time.Now()
			sctx, cancel := context.WithTimeout(ctx, interactiveCallTimeout)
			u, err := step.run(sctx)
			cancel()
			up.Latency += time.Since(start)
			if err != nil {
				if orderNotKnown(err) {
					continue
				}
				callErr = err
				return nil, false, err
			}
			u.Source, u.Event, u.LatencyMS = "lookup", "lookup", max(1, int(time.Since(start).Milliseconds()))
			u.Summary = fmt.Sprintf("search for %s by %s: %s", id, step.Label, u.Status)
			if u.RawStatus != "" {
				u.Summary += " (" + u.RawStatus + ")"
			}
			return []OrderUpdate{*u}, true, nil
		}
		return nil, false, nil
	})
	up.Called, up.Found, up.At = res.Called, res.Found, res.CalledAt
	if errors.As(err, &up.OverBudget) {
		return up
	}
	if errors.Is(err, ErrLookupBudget) {
		up.Err = err // not asked: the handler answers as for any failed read of the database
		return up
	}
	if !res.Called {
		for _, s := range plan {
			up.Tried = append(up.Tried, s.Label)
		}
	}
	if err != nil {
		up.Err = GatewayError(err) // a store error stays internal
		if callErr == nil {
			s.log.Error("Search could not record its gateway call.", "mid", a.Mid.Mid, slog.Any("error", err))
		}
	}
	return up
}
