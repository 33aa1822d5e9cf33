package gateway_test

import (
	"cmp"
	"slices"
	"testing"

	"github.com/ksherdash/ksherdash/gateway"
)

func TestRefundRuleFor(t *testing.T) {
	tests := []struct {
		name    string
		channel string
		known   bool
		want    gateway.RefundRule
	}{
		// API.md A.7: PromptPay and Alipay have no refund_query.
		{"promptpay: full refunds, order_query", "promptpay", true, gateway.RefundRule{Channel: "promptpay"}},
		{"alipay: partial, order_query", "alipay", true, gateway.RefundRule{Channel: "alipay", Partial: true}},
		{"wechat: partial, refund_query", "wechat", true, gateway.RefundRule{Channel: "wechat", Partial: true, RefundQuery: true}},
		{"bank app: full refunds", "kplus", true, gateway.RefundRule{Channel: "kplus", RefundQuery: true}},
		// API.md A.3: card refunds need ksher_order_no.
		{"card: by Ksher's number", "card", true, gateway.RefundRule{Channel: "card", Partial: true, RefundQuery: true, ByKsherOrderID: true}},
		{"any case and spaces", " PromptPay ", true, gateway.RefundRule{Channel: "promptpay"}},
		{"unknown: permissive, Ksher decides", "newpay", false, gateway.RefundRule{Channel: "newpay", Partial: true, RefundQuery: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, known := gateway.RefundRuleFor(tt.channel)
			if got != tt.want || known != tt.known {
				t.Errorf("RefundRuleFor(%q) = %+v, %v; want %+v, %v", tt.channel, got, known, tt.want, tt.known)
			}
		})
	}
}

func TestRefundRules(t *testing.T) {
	rules := gateway.RefundRules()
	// Every channel of API.md E.2 that takes payments.
	for _, ch := range []string{"alipay", "alipayplus", "wechat", "linepay", "airpay", "truemoney", "atome", "promptpay", "scb_easy",
		"bbl_deeplink", "baybank_deeplink", "kplus", "card", "ktc_instal", "kbank_instal", "kcc_instal", "kfc_instal", "ktbcard", "ktccard", "bbl_promptpay"} {
		if !slices.ContainsFunc(rules, func(r gateway.RefundRule) bool { return r.Channel == ch }) {
			t.Errorf("no rule for %s", ch)
		}
	}
	if !slices.IsSortedFunc(rules, func(a, b gateway.RefundRule) int { return cmp.Compare(a.Channel, b.Channel) }) {
		t.Errorf("rules are not ordered by channel")
	}
	for i, r := range rules {
		if i > 0 && rules[i-1].Channel == r.Channel {
			t.Errorf("%s listed twice", r.Channel)
		}
		if got, known := gateway.RefundRuleFor(r.Channel); !known || got != r {
			t.Errorf("RefundRuleFor(%q) = %+v, %v; the table says %+v", r.Channel, got, known, r)
		}
	}
}
