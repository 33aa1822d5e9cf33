package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/gateway"
)

const vipMidID = "mch35618"

func fieldText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case nil:
		return "<absent>"
	default:
		return fmt.Sprint(x)
	}
}

func TestVIPCapabilities(t *testing.T) {
	ctx := context.Background()
	day := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	ts := strconv.FormatInt(newClock().Now().Unix(), 10)
	refund := vipOrderObj("RF1", -5000, "Refunded", "REFUNDED")
	refund["order_type"], refund["reference"], refund["api_name"], refund["acquirer_order_id"] = "Refund", "O1", "general", "900111"
	txRows := []any{
		map[string]any{"order_id": "O1", "ksher_order_id": "900111", "amount": 15050, "currency": "THB", "channel": "promptpay", "type": "PAY",
			"transaction_time": "2024-01-01 10:00:00", "device_id": "", "operator_id": 0, "operator_name": ""},
		map[string]any{"order_id": "O2", "ksher_order_id": "900112", "amount": "8.50", "currency": "THB", "channel": "promptpay", "type": "PAY",
			"transaction_time": "2024-01-01 11:00:00", "device_id": "", "operator_id": 3, "operator_name": "cashier"},
	}
	tests := []struct {
		name     string
		requests int
		method   string
		path     string            // of the first request, without the /sandbox prefix
		want     map[string]string // fields of the first request
		absent   []string
		reply    func(r vipReq, n int) vipReply
		call     func(c *gateway.Client) (any, error)
		check    func(t *testing.T, got any, reqs []vipReq)
	}{
		{
			name: "payment_links.create", requests: 1, method: http.MethodPost, path: "/api/v1/redirect/orders",
			want: map[string]string{"merchant_order_id": "L1", "amount": "15050", "redirect_url": "https://shop.example.com/ok?a=1&b=2",
				"redirect_url_fail": "https://shop.example.com/fail", "channel": "promptpay,card", "note": "two items", "mid": vipMidID, "timestamp": ts},
			absent: []string{"currency", "fee_type"},
			reply: func(vipReq, int) vipReply {
				return vipReply{Obj: vipOrderObj("L1", 15050, "Available", "SUCCESS")}
			},
			call: func(c *gateway.Client) (any, error) {
				return c.PaymentLinks.Create(ctx, &gateway.PaymentLinkCreateParams{MerchantOrderID: "L1", Amount: 15050, Channels: []string{"promptpay", "card"},
					RedirectURL: "https://shop.example.com/ok?a=1&b=2", FailRedirectURL: "https://shop.example.com/fail", Note: gateway.String("two items")})
			},
			check: func(t *testing.T, got any, _ []vipReq) {
				l := got.(*gateway.PaymentLink)
				if l.URL != "https://gateway.example/ua?order_uuid=1" || l.Status != gateway.StatusPending || l.GatewayOrderID != "sim1" || l.API != gateway.APIVIP || l.Mid != vipMidID {
					t.Errorf("link = %+v", l)
				}
			},
		},
		{
			name: "payment_links.get", requests: 1, method: http.MethodGet, path: "/api/v1/redirect/orders/L1",
			want:  map[string]string{"mid": vipMidID, "timestamp": ts},
			reply: func(vipReq, int) vipReply { return vipReply{Obj: vipOrderObj("L1", 15050, "Paid", "SUCCESS")} },
			call: func(c *gateway.Client) (any, error) {
				return c.PaymentLinks.Get(ctx, &gateway.PaymentLinkGetParams{MerchantOrderID: "L1"})
			},
			check: func(t *testing.T, got any, _ []vipReq) {
				if l := got.(*gateway.PaymentLink); l.Status != gateway.StatusPaid || l.RawStatus != "Paid" || l.RawCode != "SUCCESS" {
					t.Errorf("link = %+v", l)
				}
			},
		},
		{
			name: "payment_links.cancel", requests: 1, method: http.MethodDelete, path: "/api/v1/redirect/orders/L1",
			want:  map[string]string{"mid": vipMidID, "timestamp": ts},
			reply: func(vipReq, int) vipReply { return vipReply{Obj: vipOrderObj("L1", 15050, "Closed", "SUCCESS")} },
			call: func(c *gateway.Client) (any, error) {
				return c.PaymentLinks.Cancel(ctx, &gateway.PaymentLinkCancelParams{MerchantOrderID: "L1"})
			},
			check: func(t *testing.T, got any, _ []vipReq) {
				if l := got.(*gateway.PaymentLink); l.Status != gateway.StatusClosed {
					t.Errorf("status = %v, want closed", l.Status)
				}
			},
		},
		{
			name: "orders.get cscanb refunded", requests: 1, method: http.MethodGet, path: "/api/v1/cscanb/orders/O1",
			want:  map[string]string{"timestamp": ts},
			reply: func(vipReq, int) vipReply { return vipReply{Obj: vipOrderObj("O1", 100, "Refunded", "REFUNDED")} },
			call: func(c *gateway.Client) (any, error) {
				return c.Orders.Get(ctx, &gateway.OrderGetParams{MerchantOrderID: gateway.String("O1"), Type: gateway.OrderTypeCScanB})
			},
			check: func(t *testing.T, got any, _ []vipReq) {
				o := got.(*gateway.Order)
				if o.Status != gateway.StatusRefunded || o.Amount != 100 || o.Kind != gateway.OrderKindSale || o.RefundOf != "" {
					t.Errorf("order = %+v", o)
				}
				// api_name "Redirect" names the family; order_date is UTC.
				if o.Type != gateway.OrderTypeRedirect || !o.CreatedAt.Equal(time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)) || !o.PaidAt.IsZero() {
					t.Errorf("order type %q, created %v, paid %v; want redirect, 2024-01-01 12:00 UTC, zero", o.Type, o.CreatedAt, o.PaidAt)
				}
			},
		},
		{
			name: "orders.get answers with a refund record", requests: 1, method: http.MethodGet, path: "/api/v1/redirect/orders/RF1",
			reply: func(vipReq, int) vipReply { return vipReply{Obj: refund} },
			call: func(c *gateway.Client) (any, error) {
				return c.Orders.Get(ctx, &gateway.OrderGetParams{MerchantOrderID: gateway.String("RF1")})
			},
			check: func(t *testing.T, got any, _ []vipReq) {
				// api_name "general" names no family; reference is the refunded order.
				if o := got.(*gateway.Order); o.Kind != gateway.OrderKindRefund || o.RefundOf != "O1" || o.Type != "" || o.Amount != -5000 {
					t.Errorf("order = %+v, want a refund record of O1", o)
				}
			},
		},
		{
			name: "orders.get failed", requests: 1, method: http.MethodGet, path: "/api/v1/bscanc/orders/O2",
			reply: func(vipReq, int) vipReply { return vipReply{Obj: vipOrderObj("O2", 100, "Available", "FAIL")} },
			call: func(c *gateway.Client) (any, error) {
				return c.Orders.Get(ctx, &gateway.OrderGetParams{MerchantOrderID: gateway.String("O2"), Type: gateway.OrderTypeBScanC})
			},
			check: func(t *testing.T, got any, _ []vipReq) {
				if o := got.(*gateway.Order); o.Status != gateway.StatusFailed {
					t.Errorf("status = %v, want failed", o.Status)
				}
			},
		},
		{
			name: "refunds.create", requests: 1, method: http.MethodPut, path: "/api/v1/redirect/orders/O1",
			want:   map[string]string{"refund_order_id": "RF1", "refund_amount": "5000", "mid": vipMidID, "timestamp": ts},
			absent: []string{"amount", "merchant_order_id"},
			reply:  func(vipReq, int) vipReply { return vipReply{Obj: refund} },
			call: func(c *gateway.Client) (any, error) {
				return c.Refunds.Create(ctx, &gateway.RefundCreateParams{MerchantOrderID: gateway.String("O1"), RefundID: "RF1", Amount: 5000, OrderAmount: 15050})
			},
			check: func(t *testing.T, got any, _ []vipReq) {
				r := got.(*gateway.Refund)
				if r.Status != gateway.StatusRefunded || r.Amount != 5000 || r.RefundID != "RF1" || r.MerchantOrderID != "O1" || r.KsherOrderID != "900111" {
					t.Errorf("refund = %+v", r)
				}
			},
		},
		{
			name: "refunds.get", requests: 1, method: http.MethodGet, path: "/api/v1/redirect/orders/RF1",
			reply: func(vipReq, int) vipReply { return vipReply{Obj: refund} },
			call: func(c *gateway.Client) (any, error) {
				return c.Refunds.Get(ctx, &gateway.RefundGetParams{RefundID: "RF1", MerchantOrderID: gateway.String("O1")})
			},
			check: func(t *testing.T, got any, _ []vipReq) {
				if r := got.(*gateway.Refund); r.Status != gateway.StatusRefunded || r.Amount != 5000 ||
					!r.RefundedAt.Equal(time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)) {
					t.Errorf("refund = %+v", r)
				}
			},
		},
		{
			name: "refunds.get falls back to the order on 404", requests: 2, method: http.MethodGet, path: "/api/v1/redirect/orders/RF9",
			reply: func(r vipReq, n int) vipReply {
				if r.Path == "/sandbox/api/v1/redirect/orders/RF9" {
					return vipReply{Status: 404, Raw: []byte(`{"code":404,"name":"Not Found","description":"<p>no such order</p>"}`)}
				}
				return vipReply{Obj: vipOrderObj("O1", 15050, "Refunded", "REFUNDED")}
			},
			call: func(c *gateway.Client) (any, error) {
				return c.Refunds.Get(ctx, &gateway.RefundGetParams{RefundID: "RF9", MerchantOrderID: gateway.String("O1")})
			},
			check: func(t *testing.T, got any, reqs []vipReq) {
				r := got.(*gateway.Refund)
				if r.Status != gateway.StatusUnknown || r.OrderStatus != gateway.StatusRefunded || r.OrderAmount != 15050 {
					t.Errorf("refund = %+v", r)
				}
				if reqs[1].Path != "/sandbox/api/v1/redirect/orders/O1" {
					t.Errorf("second path = %q", reqs[1].Path)
				}
			},
		},
		{
			name: "settlements.list (one channel, two days)", requests: 2, method: http.MethodGet, path: "/api/v1/finance/settlements/20240101",
			want: map[string]string{"channel": "promptpay", "mid": vipMidID, "timestamp": ts},
			reply: func(r vipReq, n int) vipReply {
				return vipReply{Obj: map[string]any{"error_code": "SUCCESS", "error_message": "Successful", "mid": "35618", "data": map[string]any{
					"amount": 15050, "count": 2, "fee": 120, "refund": 0, "refund_fee": 0, "other_fee": 0, "adjustment": 0, "net": 14930,
					"balance": 0, "transfer": true, "transfer_amount": 14930, "reference_id": "20240101_35618_" + r.Path[len(r.Path)-2:],
					"start": "2024-01-01", "end": "2024-01-01", "time": "2024-01-02", "channel": "promptpay", "currency": "THB"}}}
			},
			call: func(c *gateway.Client) (any, error) {
				return collect(c.Settlements.List(ctx, &gateway.SettlementListParams{From: day, To: day.AddDate(0, 0, 1), Channels: []string{"promptpay"}}))
			},
			check: func(t *testing.T, got any, reqs []vipReq) {
				s := got.([]*gateway.Settlement)
				if len(s) != 2 || s[0].Net != 14930 || s[0].Count != 2 || !s[0].Transferred || s[0].ReferenceID != "20240101_35618_01" || s[1].ReferenceID != "20240101_35618_02" {
					t.Errorf("settlements = %+v", s)
				}
				if len(s) > 0 && (!s[0].PeriodStart.Equal(day) || !s[0].PeriodEnd.Equal(day) || !s[0].SettlementDate.Equal(day.AddDate(0, 0, 1))) {
					t.Errorf("settlement days %v..%v settled %v, want dates 2024-01-01..2024-01-01, 2024-01-02", s[0].PeriodStart, s[0].PeriodEnd, s[0].SettlementDate)
				}
				if reqs[1].Path != "/sandbox/api/v1/finance/settlements/20240102" {
					t.Errorf("second path = %q", reqs[1].Path)
				}
			},
		},
		{
			name: "settlements.list discovers channels", requests: 3, method: http.MethodGet, path: "/api/v1/finance/settlements/channels",
			want: map[string]string{"mid": vipMidID},
			reply: func(r vipReq, n int) vipReply {
				if r.Path == "/sandbox/api/v1/finance/settlements/channels" {
					return vipReply{Obj: map[string]any{"error_code": "SUCCESS", "data": map[string]any{"channels": []any{"promptpay", "truemoney"}}}}
				}
				return vipReply{Obj: map[string]any{"error_code": "SUCCESS", "data": map[string]any{"channel": r.Query.Get("channel"), "amount": 1}}}
			},
			call: func(c *gateway.Client) (any, error) {
				return collect(c.Settlements.List(ctx, &gateway.SettlementListParams{From: day, To: day}))
			},
			check: func(t *testing.T, got any, reqs []vipReq) {
				s := got.([]*gateway.Settlement)
				if len(s) != 2 || s[0].Channel != "promptpay" || s[1].Channel != "truemoney" {
					t.Errorf("settlements = %+v", s)
				}
			},
		},
		{
			name: "settlements.orders", requests: 1, method: http.MethodGet, path: "/api/v1/finance/settlements/settlement_order",
			want: map[string]string{"reference_id": "20240101_35618_XVHNDY", "offset": "0", "limit": "40", "mid": vipMidID},
			reply: func(vipReq, int) vipReply {
				return vipReply{Obj: map[string]any{"error_code": "SUCCESS", "data": map[string]any{"data": txRows, "total": 2}}}
			},
			call: func(c *gateway.Client) (any, error) {
				return collect(c.Settlements.Orders(ctx, &gateway.SettlementOrdersParams{ReferenceID: "20240101_35618_XVHNDY"}))
			},
			check: func(t *testing.T, got any, _ []vipReq) {
				if tx := got.([]*gateway.Transaction); len(tx) != 2 || tx[0].MerchantOrderID != "O1" {
					t.Errorf("transactions = %+v", tx)
				}
			},
		},
		{
			name: "transactions.list", requests: 1, method: http.MethodGet, path: "/api/v1/finance/settlements/order/20240101",
			want: map[string]string{"offset": "0", "limit": "10", "mid": vipMidID, "channel": "promptpay", "timestamp": ts},
			reply: func(vipReq, int) vipReply {
				return vipReply{Obj: map[string]any{"error_code": "SUCCESS", "data": map[string]any{"data": txRows, "total": 2}}}
			},
			call: func(c *gateway.Client) (any, error) {
				return collect(c.Transactions.List(ctx, &gateway.TransactionListParams{Date: day, Channel: gateway.String("promptpay"), PageSize: 10}))
			},
			check: func(t *testing.T, got any, _ []vipReq) {
				tx := got.([]*gateway.Transaction)
				if len(tx) != 2 {
					t.Fatalf("transactions = %d, want 2", len(tx))
				}
				if tx[0].Amount != 15050 || tx[0].KsherOrderID != "900111" || tx[0].Type != "PAY" || tx[0].OperatorID != "0" {
					t.Errorf("tx[0] = %+v", tx[0])
				}
				// transaction_time is Thailand time: 10:00 ICT is 03:00 UTC.
				if want := time.Date(2024, 1, 1, 3, 0, 0, 0, time.UTC); !tx[0].Time.Equal(want) || tx[0].Time.Location() != time.UTC {
					t.Errorf("tx[0].Time = %v, want %v", tx[0].Time, want)
				}
				// A decimal report amount can only be major units (UNCONFIRMED unit).
				if tx[1].Amount != 850 || tx[1].OperatorName != "cashier" {
					t.Errorf("tx[1] = %+v, want amount 850", tx[1])
				}
			},
		},
		{
			name: "channels.list", requests: 1, method: http.MethodGet, path: "/api/v1/finance/settlements/channels",
			want: map[string]string{"mid": vipMidID, "timestamp": ts},
			reply: func(vipReq, int) vipReply {
				return vipReply{Obj: map[string]any{"error_code": "SUCCESS", "mid": "35618", "data": map[string]any{"channels": []any{"promptpay2", "truemoney"}}}}
			},
			call: func(c *gateway.Client) (any, error) { return c.Channels.List(ctx, &gateway.ChannelListParams{}) },
			check: func(t *testing.T, got any, _ []vipReq) {
				if cl := got.(*gateway.ChannelList); len(cl.Channels) != 2 || cl.Channels[0].Name != "promptpay2" {
					t.Errorf("channels = %+v", cl.Channels)
				}
			},
		},
		{
			name: "counter.qr", requests: 1, method: http.MethodPost, path: "/api/v1/cscanb/orders",
			want: map[string]string{"merchant_order_id": "Q1", "amount": "100", "channel": "promptpay", "mid": vipMidID},
			reply: func(vipReq, int) vipReply {
				o := vipOrderObj("Q1", 100, "Available", "SUCCESS")
				o["reserved1"], o["api_name"], o["channel"] = "data:image/png;base64,AA==", "CscanB", "promptpay"
				return vipReply{Obj: o}
			},
			call: func(c *gateway.Client) (any, error) {
				return c.Counter.QR(ctx, &gateway.QRParams{MerchantOrderID: "Q1", Amount: 100, Channel: "promptpay"})
			},
			check: func(t *testing.T, got any, _ []vipReq) {
				if q := got.(*gateway.QRCode); q.ImageDataURL != "data:image/png;base64,AA==" || q.Status != gateway.StatusPending {
					t.Errorf("qr = %+v", q)
				}
			},
		},
		{
			name: "counter.charge paid", requests: 1, method: http.MethodPost, path: "/api/v1/bscanc/orders",
			want:  map[string]string{"merchant_order_id": "C1", "amount": "100", "channel": "truemoney", "auth_code": "1234", "operator_id": "op1"},
			reply: func(vipReq, int) vipReply { return vipReply{Obj: vipOrderObj("C1", 100, "Paid", "SUCCESS")} },
			call: func(c *gateway.Client) (any, error) {
				return c.Counter.Charge(ctx, &gateway.ChargeParams{MerchantOrderID: "C1", Amount: 100, Channel: "truemoney", AuthCode: "1234", OperatorID: gateway.String("op1")})
			},
			check: func(t *testing.T, got any, _ []vipReq) {
				if ch := got.(*gateway.Charge); ch.Status != gateway.StatusPaid {
					t.Errorf("charge = %+v", ch)
				}
			},
		},
		{
			name: "counter.charge pending is not_sure", requests: 1, method: http.MethodPost, path: "/api/v1/bscanc/orders",
			reply: func(vipReq, int) vipReply { return vipReply{Obj: vipOrderObj("C2", 100, "Available", "PENDING")} },
			call: func(c *gateway.Client) (any, error) {
				return c.Counter.Charge(ctx, &gateway.ChargeParams{MerchantOrderID: "C2", Amount: 100, Channel: "wechat", AuthCode: "1234"})
			},
			check: func(t *testing.T, got any, _ []vipReq) {
				if ch := got.(*gateway.Charge); ch.Status != gateway.StatusNotSure {
					t.Errorf("status = %v, want not_sure", ch.Status)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newVIPServer(t, "/sandbox", tt.reply)
			c := newVIPClient(t, srv, newClock(), []string{vipMidID})
			got, err := tt.call(c)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			reqs := srv.Requests()
			if len(reqs) != tt.requests {
				t.Fatalf("requests = %d, want %d", len(reqs), tt.requests)
			}
			r := reqs[0]
			if r.Method != tt.method || r.Path != "/sandbox"+tt.path {
				t.Errorf("request = %s %s, want %s /sandbox%s", r.Method, r.Path, tt.method, tt.path)
			}
			for k, v := range tt.want {
				if got := fieldText(r.Fields[k]); got != v {
					t.Errorf("field %s = %q, want %q", k, got, v)
				}
			}
			for _, k := range tt.absent {
				if _, ok := r.Fields[k]; ok {
					t.Errorf("field %s sent, want absent", k)
				}
			}
			if n, ok := r.Fields["amount"].(json.Number); ok {
				if _, err := n.Int64(); err != nil {
					t.Errorf("amount %q is not a JSON integer", n)
				}
			}
			tt.check(t, got, reqs)
		})
	}
}

func TestVIPTypedErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		reply     vipReply
		call      func(c *gateway.Client) error
		wantKind  gateway.ErrorKind
		wantCode  string
		wantHTTP  int
		wantInMsg string
	}{
		{
			name:  "400 validation",
			reply: vipReply{Status: 400, Raw: []byte(`{"code":400,"name":"Bad Request","description":"<p class='preserveHtml'>BadRequest {'redirect_url': ['Not a valid URL.']}</p>","log_entry_url":"https://x/log"}`)},
			call: func(c *gateway.Client) error {
				_, err := c.PaymentLinks.Create(ctx, &gateway.PaymentLinkCreateParams{MerchantOrderID: "L1", Amount: 1, RedirectURL: "bad", FailRedirectURL: "bad"})
				return err
			},
			wantKind: gateway.KindAPI, wantCode: "BAD_REQUEST", wantHTTP: 400, wantInMsg: "Not a valid URL.",
		},
		{
			name:  "401",
			reply: vipReply{Status: 401, Raw: []byte(`{"code":401,"name":"Unauthorized","description":"bad signature"}`)},
			call: func(c *gateway.Client) error {
				_, err := c.Orders.Get(ctx, &gateway.OrderGetParams{MerchantOrderID: gateway.String("O1")})
				return err
			},
			wantKind: gateway.KindAPI, wantCode: "UNAUTHORIZED", wantHTTP: 401,
		},
		{
			name:  "429",
			reply: vipReply{Status: 429, Raw: []byte(`{}`)},
			call: func(c *gateway.Client) error {
				_, err := c.Orders.Get(ctx, &gateway.OrderGetParams{MerchantOrderID: gateway.String("O1")})
				return err
			},
			wantKind: gateway.KindRateLimited, wantCode: "HTTP_429", wantHTTP: 429,
		},
		{
			name:  "charge declined",
			reply: vipReply{Obj: map[string]any{"merchant_order_id": "C1", "status": "Available", "error_code": "FAIL", "error_message": "Fail", "reserved3": "invalid_payment_code", "reserved4": "False"}},
			call: func(c *gateway.Client) error {
				_, err := c.Counter.Charge(ctx, &gateway.ChargeParams{MerchantOrderID: "C1", Amount: 1, Channel: "wechat", AuthCode: "1"})
				return err
			},
			wantKind: gateway.KindAPI, wantCode: "FAIL", wantHTTP: 200, wantInMsg: "invalid_payment_code",
		},
		{
			name:  "finance disallowed mid",
			reply: vipReply{Obj: map[string]any{"error_code": "UNKNOWN", "error_message": "NOT allowed mid"}},
			call: func(c *gateway.Client) error {
				_, err := c.Channels.List(ctx, &gateway.ChannelListParams{})
				return err
			},
			wantKind: gateway.KindAPI, wantCode: "UNKNOWN", wantHTTP: 200, wantInMsg: "NOT allowed mid",
		},
		{
			name:  "unsigned answer",
			reply: vipReply{Obj: vipOrderObj("O1", 1, "Paid", "SUCCESS"), NoSign: true},
			call: func(c *gateway.Client) error {
				_, err := c.Orders.Get(ctx, &gateway.OrderGetParams{MerchantOrderID: gateway.String("O1")})
				return err
			},
			wantKind: gateway.KindBadSignature,
		},
		{
			name:  "one byte changed",
			reply: vipReply{Obj: vipOrderObj("O1", 1, "Paid", "SUCCESS"), Tamper: flipInBody(`Paid"`)},
			call: func(c *gateway.Client) error {
				_, err := c.Orders.Get(ctx, &gateway.OrderGetParams{MerchantOrderID: gateway.String("O1")})
				return err
			},
			wantKind: gateway.KindBadSignature,
		},
		{
			name:  "create answer about another order",
			reply: vipReply{Obj: vipOrderObj("OTHER", 1, "Available", "SUCCESS")},
			call: func(c *gateway.Client) error {
				_, err := c.PaymentLinks.Create(ctx, &gateway.PaymentLinkCreateParams{MerchantOrderID: "L1", Amount: 1, RedirectURL: "u", FailRedirectURL: "f"})
				return err
			},
			wantKind: gateway.KindBadSignature,
		},
		{
			name: "replayed answer (timestamp)",
			reply: vipReply{Obj: func() map[string]any {
				o := vipOrderObj("O1", 1, "Paid", "SUCCESS")
				o["timestamp"] = "1600000000"
				return o
			}()},
			call: func(c *gateway.Client) error {
				_, err := c.Orders.Get(ctx, &gateway.OrderGetParams{MerchantOrderID: gateway.String("O1")})
				return err
			},
			wantKind: gateway.KindBadSignature,
		},
		{
			name:  "DELETE not allowed",
			reply: vipReply{Status: 405, Raw: []byte(`{"code":405,"name":"Method Not Allowed"}`)},
			call: func(c *gateway.Client) error {
				_, err := c.PaymentLinks.Cancel(ctx, &gateway.PaymentLinkCancelParams{MerchantOrderID: "L1"})
				return err
			},
			wantKind: gateway.KindUnsupported, wantCode: "METHOD_NOT_ALLOWED", wantHTTP: 405,
		},
		{
			name:  "reverse",
			reply: vipReply{},
			call: func(c *gateway.Client) error {
				_, err := c.Counter.Reverse(ctx, &gateway.ReverseParams{MerchantOrderID: gateway.String("C1")})
				return err
			},
			wantKind: gateway.KindUnsupported,
		},
		{
			name:  "merchant info",
			reply: vipReply{},
			call: func(c *gateway.Client) error {
				_, err := c.Merchant.Info(ctx, &gateway.MerchantInfoParams{})
				return err
			},
			wantKind: gateway.KindUnsupported,
		},
		{
			name:  "order by ksher id",
			reply: vipReply{},
			call: func(c *gateway.Client) error {
				_, err := c.Orders.Get(ctx, &gateway.OrderGetParams{KsherOrderID: gateway.String("900")})
				return err
			},
			wantKind: gateway.KindUnsupported,
		},
		{
			name:  "unsafe order id",
			reply: vipReply{},
			call: func(c *gateway.Client) error {
				_, err := c.Orders.Get(ctx, &gateway.OrderGetParams{MerchantOrderID: gateway.String("a/b")})
				return err
			},
			wantKind: gateway.KindInvalidRequest,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newVIPServer(t, "", func(vipReq, int) vipReply { return tt.reply })
			c := newVIPClient(t, srv, newClock(), []string{vipMidID})
			err := tt.call(c)
			var ge *gateway.Error
			if !errors.As(err, &ge) {
				t.Fatalf("err = %v, want *gateway.Error", err)
			}
			if ge.Kind != tt.wantKind || ge.Code != tt.wantCode && tt.wantCode != "" || ge.HTTPStatus != tt.wantHTTP && tt.wantHTTP != 0 {
				t.Errorf("error = %+v, want kind %s code %s http %d", ge, tt.wantKind, tt.wantCode, tt.wantHTTP)
			}
			if tt.wantInMsg != "" && !strings.Contains(ge.Message, tt.wantInMsg) {
				t.Errorf("message = %q, want it to contain %q", ge.Message, tt.wantInMsg)
			}
			if tt.wantKind == gateway.KindBadSignature && !errors.Is(err, gateway.ErrBadSignature) {
				t.Errorf("errors.Is(err, ErrBadSignature) = false")
			}
			if strings.Contains(err.Error(), vipToken) {
				t.Errorf("error text contains the token")
			}
			if n := len(srv.Requests()); n > 1 {
				t.Errorf("requests = %d, want at most 1 (not retried)", n)
			}
		})
	}
}

func TestVIPTransactionsPaginate(t *testing.T) {
	const total = 95
	srv := newVIPServer(t, "", func(r vipReq, n int) vipReply {
		off, _ := strconv.Atoi(r.Query.Get("offset"))
		lim, _ := strconv.Atoi(r.Query.Get("limit"))
		var rows []any
		for i := off; i < min(off+lim, total); i++ {
			rows = append(rows, map[string]any{"order_id": fmt.Sprintf("O%03d", i), "amount": 100, "type": "PAY"})
		}
		return vipReply{Obj: map[string]any{"error_code": "SUCCESS", "data": map[string]any{"data": rows, "total": total}}}
	})
	c := newVIPClient(t, srv, newClock(), []string{vipMidID})
	var got []string
	for tx, err := range c.Transactions.List(context.Background(), &gateway.TransactionListParams{Date: time.Now(), PageSize: 40}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, tx.MerchantOrderID)
	}
	if len(got) != total || got[0] != "O000" || got[total-1] != "O094" {
		t.Errorf("got %d rows (%v…), want %d", len(got), got[:min(3, len(got))], total)
	}
	var offsets []string
	for _, r := range srv.Requests() {
		offsets = append(offsets, r.Query.Get("offset"))
	}
	if fmt.Sprint(offsets) != "[0 40 80]" {
		t.Errorf("offsets = %v, want [0 40 80]", offsets)
	}
	// Stopping early sends no further request.
	before := len(srv.Requests())
	for range c.Transactions.List(context.Background(), &gateway.TransactionListParams{Date: time.Now(), PageSize: 40}) {
		break
	}
	if n := len(srv.Requests()) - before; n != 1 {
		t.Errorf("requests after break = %d, want 1", n)
	}
}
