package models

import (
	"errors"
	"net/http"
	"testing"

	"github.com/ksherdash/ksherdash/gateway"
)

// Every answer to a refund send, and what it makes of the refund: only a
// clear answer decides; a refusal of a number sent before, or one that
// says the number is used, is unknown (API.md E.3 leaves open what Ksher
// answers to a repeated number).
func TestSendOutcome(t *testing.T) {
	api := func(code string, status int, again bool) error {
		return &gateway.Error{Kind: gateway.KindAPI, Code: code, HTTPStatus: status, SendAgain: again, Message: "m"}
	}
	tests := []struct {
		name     string
		ans      *gateway.Refund
		err      error
		attempts int
		want     string
	}{
		{"refunded", &gateway.Refund{Status: gateway.StatusRefunded}, nil, 1, RefundSucceeded},
		{"Ksher says failed", &gateway.Refund{Status: gateway.StatusFailed}, nil, 1, RefundFailed},
		{"Ksher still processing", &gateway.Refund{Status: gateway.StatusPending}, nil, 1, RefundUnknown},
		{"unreadable state", &gateway.Refund{Status: gateway.StatusUnknown}, nil, 1, RefundUnknown},
		{"v3 result FAIL", nil, api("KSHER_REFUND_AMOUNT_EXCEEDED", 200, false), 1, RefundFailed},
		{"vip error_code FAIL", nil, api("FAIL", 200, false), 1, RefundFailed},
		{"vip 404", nil, api("NOT_FOUND", 404, false), 1, RefundFailed},
		{"refusal of a number sent before", nil, api("KSHER_REFUND_AMOUNT_EXCEEDED", 200, false), 2, RefundUnknown},
		{"duplicate number, v3", nil, api("KSHER_DUPLICATE_REFUND_NO", 200, false), 1, RefundUnknown},
		{"duplicate number, vip 400", nil, &gateway.Error{Kind: gateway.KindAPI, Code: "BAD_REQUEST", HTTPStatus: 400, Message: "Duplicate refund_order_id."}, 1, RefundUnknown},
		{"SYSTEMERROR", nil, api(gateway.CodeSystemError, 200, false), 1, RefundUnknown},
		{"v3 code != 0: send again", nil, api("KSHER_CODE_1", 200, true), 3, RefundPending},
		{"rate limited", nil, &gateway.Error{Kind: gateway.KindRateLimited, RetryAfter: 1}, 1, RefundPending},
		{"timeout", nil, &gateway.Error{Kind: gateway.KindTimeout}, 1, RefundUnknown},
		{"connection reset", nil, &gateway.Error{Kind: gateway.KindTransport, Err: errors.New("reset")}, 1, RefundUnknown},
		{"5xx", nil, &gateway.Error{Kind: gateway.KindTransport, HTTPStatus: http.StatusBadGateway}, 1, RefundUnknown},
		{"5xx read as API", nil, api("HTTP_500", 500, false), 1, RefundUnknown},
		{"bad signature", nil, &gateway.Error{Kind: gateway.KindBadSignature}, 1, RefundUnknown},
		{"refused before sending", nil, &gateway.Error{Kind: gateway.KindInvalidRequest}, 1, RefundFailed},
		{"not a gateway error", nil, errors.New("boom"), 1, RefundUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := sendOutcome(tt.ans, tt.err, tt.attempts)
			if v.State != tt.want {
				t.Errorf("state = %s, want %s", v.State, tt.want)
			}
			if v.State == RefundPending && v.After < QueryGap {
				t.Errorf("sent again after %v, want at least Ksher's %v", v.After, QueryGap)
			}
		})
	}
}

// Which order Ksher is asked to refund (API.md A.7).
func TestRefundTarget(t *testing.T) {
	tests := []struct {
		name, api string
		o         Order
		field, id string
	}{
		{"v3 by Ksher's number", APIv3, Order{Kind: OrderKindKsherPay, MchOrderNo: "M1", KsherOrderNo: "K1", Channel: "truemoney"}, "ksher_order_no", "K1"},
		{"v3 KsherPay by ours", APIv3, Order{Kind: OrderKindKsherPay, MchOrderNo: "M1", Channel: "truemoney"}, "mch_order_no", "M1"},
		{"v3 link: its underlying order", APIv3, Order{Kind: OrderKindLink, MchOrderNo: "L1", GatewayOrderNo: "P1"}, "mch_order_no", "P1"},
		{"v3 link, underlying not known: never the link's number", APIv3, Order{Kind: OrderKindLink, MchOrderNo: "L1"}, "", ""},
		{"v3 card without Ksher's number", APIv3, Order{Kind: OrderKindKsherPay, MchOrderNo: "M1", Channel: "card"}, "", ""},
		{"v3 card", APIv3, Order{Kind: OrderKindKsherPay, MchOrderNo: "M1", KsherOrderNo: "K1", Channel: "card"}, "ksher_order_no", "K1"},
		{"vip redirect", APIVIP, Order{Kind: "redirect", MchOrderNo: "V1"}, "redirect", "V1"},
		{"vip cscanb", APIVIP, Order{Kind: "cscanb", MchOrderNo: "V1", KsherOrderNo: "K1"}, "cscanb", "V1"},
		{"vip from the sync: no family", APIVIP, Order{MchOrderNo: "V1"}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, id := refundTarget(tt.api, &tt.o)
			if f != tt.field || id != tt.id {
				t.Errorf("target = %q %q, want %q %q", f, id, tt.field, tt.id)
			}
		})
	}
}
