package models

import (
	"context"
	"time"

	"github.com/ksherdash/ksherdash/gateway"
)

// Where the answer to "may part of this order be refunded?" comes from.
const (
	// PartialByChannel: the channel takes no partial refunds (gateway's
	// rule table); nothing else matters.
	PartialByChannel = "channel"
	// PartialByKsher: v3 merchant_info's allow_partial_refund, as Ksher
	// last reported it (unsigned: "reported by Ksher").
	PartialByKsher = "ksher_reported"
	// PartialNotReported: v3, Ksher has not been asked yet (Test connection
	// asks); Ksher decides when the refund is sent.
	PartialNotReported = "not_reported"
	// PartialByAccount: vip, the account's own setting (the vip API does
	// not say).
	PartialByAccount = "account_setting"
)

// RefundPanel is what an order's refund panel shows and the rules a refund
// of the order is held to.
type RefundPanel struct {
	Order   *Order
	Refunds []Refund
	API     string // APIv3 or APIVIP
	// Remaining may still be refunded; Refunded is done, Held is held by
	// refunds not yet done (pending, unknown).
	Remaining, Refunded, Held int64
	Rule                      gateway.RefundRule
	// Partial: a refund below the order amount may be asked for; PartialBy
	// says who decides (Partial*), and Reported what Ksher reported, when
	// it did (v3: "Y" or "N", and when).
	Partial    bool
	PartialBy  string
	Reported   string
	ReportedAt *time.Time
	// QueryByOrder: Ksher cannot be asked about a refund of this order by
	// its number (PromptPay and Alipay have no refund_query; vip has no
	// refund query at all): its outcome is read from the order.
	QueryByOrder bool
	// AfterDay: the order was paid before today (the account's zone): Ksher
	// takes the refund from the merchant's balance (no API reads it).
	AfterDay bool
	// TargetField and TargetID name the order Ksher is asked to refund;
	// empty when it must be looked up first (NeedsLookup).
	TargetField, TargetID string
	NeedsLookup           bool
	// The person's open refund number, their support limits, and whether
	// they must confirm with their password (and a code) now.
	RefundNo    string
	Cap         *int64
	SameDayOnly bool
	StepUpValid bool
	NeedsCode   bool
	// Blocked names why no refund can be asked for now ("" = it can):
	// refund.nothing_left, refund.not_paid.
	Blocked string
}

// Panel returns the refund panel of o for by, who holds mid a with the
// refund right, minting their open refund number the first time.
func (s *Refunds) Panel(ctx context.Context, by Actor, a MidAccess, sessionID string, o *Order) (*RefundPanel, error) {
	if !RoleCan(a.Role, ActRefund) {
		return nil, ErrRefundNotAllowed
	}
	p, err := s.rules(ctx, o)
	if err != nil {
		return nil, err
	}
	if p.Refunds, err = s.store.OrderRefunds(ctx, o.ID); err != nil {
		return nil, err
	}
	var open int64
	for _, r := range p.Refunds {
		switch {
		case r.Status == RefundSucceeded:
			p.Refunded += r.Amount
		case r.Open():
			open += r.Amount
		}
	}
	p.Held = open
	p.Remaining = Remaining(o, p.Refunded, open)
	p.Refunded = max(p.Refunded, o.Refunded)
	p.AfterDay = s.afterDay(a.TimeZone, o)
	p.Cap, p.SameDayOnly = a.RefundCap, a.SameDayOnly
	switch {
	case o.Status != StatusPaid && o.Status != StatusPartiallyRefunded:
		p.Blocked = "refund.not_paid"
	case p.Remaining <= 0:
		p.Blocked = "refund.nothing_left"
	}
	if p.Blocked == "" {
		if p.RefundNo, err = s.store.refundDraft(ctx, by.UserID, o); err != nil {
			return nil, err
		}
	}
	if p.StepUpValid, err = s.store.SteppedUp(ctx, sessionID); err != nil {
		return nil, err
	}
	p.NeedsCode = by.User != nil && by.User.TOTPEnabledAt != nil
	return p, nil
}

// rules fills the rules of refunding o: the channel's row of the rule
// table, the merchant's partial-refund setting, how the outcome is asked
// about, and which order Ksher is asked to refund.
func (s *Refunds) rules(ctx context.Context, o *Order) (*RefundPanel, error) {
	var row struct {
		APIKind                 string
		AllowPartialRefund      bool
		PartialRefundReported   string
		PartialRefundReportedAt *time.Time
	}
	err := s.store.db.WithContext(ctx).Table("mids AS m").Joins("JOIN merchant_accounts a ON a.id = m.account_id").
		Select("a.api_kind, a.allow_partial_refund, m.partial_refund_reported, m.partial_refund_reported_at").
		Where("m.mid = ?", o.Mid).Take(&row).Error
	if err != nil {
		return nil, notFoundOr(err, "Mid")
	}
	rule, _ := gateway.RefundRuleFor(o.Channel)
	p := &RefundPanel{Order: o, API: row.APIKind, Rule: rule, Reported: row.PartialRefundReported, ReportedAt: row.PartialRefundReportedAt}
	switch {
	case !rule.Partial:
		p.PartialBy = PartialByChannel
	case row.APIKind == APIVIP:
		p.Partial, p.PartialBy = row.AllowPartialRefund, PartialByAccount
	case row.PartialRefundReported == "":
		p.Partial, p.PartialBy = true, PartialNotReported
	default:
		p.Partial, p.PartialBy = row.PartialRefundReported == "Y", PartialByKsher
	}
	p.QueryByOrder = row.APIKind == APIVIP || !rule.RefundQuery
	p.TargetField, p.TargetID = refundTarget(row.APIKind, o)
	p.NeedsLookup = p.TargetField == ""
	return p, nil
}

// refundTarget names the order Ksher is asked to refund (API.md A.7):
//   - v3: ksher_order_no when known (cards need it); else a payment link's
//     underlying KsherPay order (pay_mch_order_no, kept as the row's
//     gateway number), never the link's own mch_order_no; else a KsherPay
//     order's mch_order_no.
//   - vip: the order's family, which decides the path
//     (/api/v1/<family>/orders/{merchant_order_id}).
//
// "" when it is not known yet: an order cached from the daily sync has no
// family, a link whose payment Ksher has not named yet has no underlying
// order. knowTarget looks it up first.
func refundTarget(api string, o *Order) (field, id string) {
	if api == APIVIP {
		switch gateway.OrderType(o.Kind) {
		case gateway.OrderTypeRedirect, gateway.OrderTypeApp, gateway.OrderTypeMiniApp, gateway.OrderTypeCScanB, gateway.OrderTypeBScanC:
			return o.Kind, o.MchOrderNo
		}
		return "", ""
	}
	rule, _ := gateway.RefundRuleFor(o.Channel)
	switch {
	case o.KsherOrderNo != "":
		return "ksher_order_no", o.KsherOrderNo
	case rule.ByKsherOrderID:
		return "", ""
	case o.Kind == OrderKindLink && o.GatewayOrderNo != "":
		return "mch_order_no", o.GatewayOrderNo
	case o.Kind == OrderKindLink:
		return "", ""
	}
	return "mch_order_no", o.MchOrderNo
}

// knowTarget makes sure Ksher can be told which order to refund, asking
// Ksher about o first when the cache does not say (a vip order from the
// daily sync: the live lookup tries each family; a v3 link: its query
// names the order paid).
func (s *Refunds) knowTarget(ctx context.Context, a MidAccess, o *Order) (*Order, error) {
	client, _, err := s.clients.For(ctx, o.AccountID)
	if err != nil {
		return nil, GatewayError(err)
	}
	api := APIv3
	if client.API() == gateway.APIVIP {
		api = APIVIP
	}
	if f, _ := refundTarget(api, o); f != "" {
		return o, nil
	}
	var up UpstreamNote
	if api == APIVIP {
		// Not a search: one lookup of an order the person is refunding,
		// outside the lookup budget (nil).
		up = s.orders.FindLive(ctx, a, o.MchOrderNo, nil)
	} else {
		_, up = s.orders.Refresh(ctx, o, true)
	}
	if up.Err != nil {
		return nil, up.Err
	}
	fresh, err := s.store.FindOrder(ctx, []string{o.Mid}, o.ID)
	if err != nil {
		return nil, err
	}
	if f, _ := refundTarget(api, fresh); f == "" {
		return nil, errorID(ECONFLICT, "refund.target_unknown",
			"Ksher has not said yet which order to refund. Try again in a few seconds.")
	}
	return fresh, nil
}
