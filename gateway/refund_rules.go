package gateway

import (
	"slices"
	"strings"
)

// RefundRule is what Ksher allows when refunding an order paid on one
// channel. The table of them (RefundRuleFor, RefundRules) is the one both
// this client and the sandbox use, and what a refund form reads before it
// offers a refund.
//
// Ksher publishes little of it: partial refunds are "allowed only for some
// channels" and need the merchant's allow_partial_refund, "PromptPay and
// Alipay do not support refund_query" (API.md A.7), and card refunds need
// ksher_order_no (A.3). Which channels take partial refunds is UNCONFIRMED:
// the table says no for PromptPay, the bank apps and the installment
// plans, which the payer's bank settles as one transfer; yes for wallets
// and cards.
//
// Limits: Ksher documents none per channel. On every channel the refunds
// of an order add up to at most its amount (A.7, B.4.3) and a refund number
// is used once (E.3); those are not in the table.
type RefundRule struct {
	// Channel as Ksher spells it, in lower case (promptpay, truemoney, ...).
	Channel string
	// Partial: the channel accepts a refund smaller than the order amount.
	// On v3 the merchant must allow it too (MerchantInfo.AllowPartialRefund,
	// which Ksher does not sign). The client does not refuse a partial
	// refund on its own: Ksher has the last word.
	Partial bool
	// RefundQuery: v3 refund_query answers about the channel's refunds.
	// When false, a refund's outcome can only be seen on the order
	// (order_query answers REFUND once it is refunded): Refunds.Get asks
	// order_query instead when RefundGetParams.Channel names such a
	// channel. (vip has no refund_query at all; see Refunds.Get.)
	RefundQuery bool
	// ByKsherOrderID: v3 order_refund must name the order by its Ksher
	// number (KsherOrderID), not the merchant's (cards, A.3). Refunds.Create
	// refuses such a refund without one when RefundCreateParams.Channel
	// names the channel.
	ByKsherOrderID bool
}

// refundRules is the table, one row per channel of API.md E.2.
var refundRules = map[string]RefundRule{
	"promptpay":        {Partial: false, RefundQuery: false},
	"bbl_promptpay":    {Partial: false, RefundQuery: false},
	"truemoney":        {Partial: true, RefundQuery: true},
	"linepay":          {Partial: true, RefundQuery: true},
	"airpay":           {Partial: true, RefundQuery: true},
	"alipay":           {Partial: true, RefundQuery: false},
	"alipayplus":       {Partial: true, RefundQuery: true},
	"wechat":           {Partial: true, RefundQuery: true},
	"atome":            {Partial: true, RefundQuery: true},
	"scb_easy":         {Partial: false, RefundQuery: true},
	"bbl_deeplink":     {Partial: false, RefundQuery: true},
	"baybank_deeplink": {Partial: false, RefundQuery: true},
	"kplus":            {Partial: false, RefundQuery: true},
	"card":             {Partial: true, RefundQuery: true, ByKsherOrderID: true},
	"ktbcard":          {Partial: true, RefundQuery: true, ByKsherOrderID: true},
	"ktccard":          {Partial: true, RefundQuery: true, ByKsherOrderID: true},
	"ktc_instal":       {Partial: false, RefundQuery: true},
	"kbank_instal":     {Partial: false, RefundQuery: true},
	"kcc_instal":       {Partial: false, RefundQuery: true},
	"kfc_instal":       {Partial: false, RefundQuery: true},
}

// RefundRuleFor returns the rule of channel (any case) and whether the
// table knows the channel. A channel it does not know gets the permissive
// rule (partial refunds, refund_query, by either order number), so that
// Ksher, not a gap in this table, decides.
func RefundRuleFor(channel string) (RefundRule, bool) {
	ch := strings.ToLower(strings.TrimSpace(channel))
	r, ok := refundRules[ch]
	if !ok {
		r = RefundRule{Partial: true, RefundQuery: true}
	}
	r.Channel = ch
	return r, ok
}

// RefundRules returns the whole table, ordered by channel.
func RefundRules() []RefundRule {
	out := make([]RefundRule, 0, len(refundRules))
	for _, ch := range slices.Sorted(mapKeys(refundRules)) {
		r, _ := RefundRuleFor(ch)
		out = append(out, r)
	}
	return out
}
