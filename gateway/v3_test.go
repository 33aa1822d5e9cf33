package gateway_test

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/gateway"
)

func collect[T any](seq func(func(*T, error) bool)) ([]*T, error) {
	var out []*T
	for v, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, v)
	}
	return out, nil
}

func TestV3Capabilities(t *testing.T) {
	ctx := context.Background()
	day := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		path   string
		want   map[string]string // fields that must be sent with these values
		absent []string          // fields that must not be sent
		reply  map[string]any
		call   func(c *gateway.Client) (any, error)
		check  func(t *testing.T, got any)
	}{
		{
			name: "payment_links.create",
			path: "/api/gateway_pay",
			want: map[string]string{"appid": testMid, "mch_order_no": "ORD1", "total_fee": "15050", "fee_type": "THB",
				"channel_list": "promptpay,card", "mch_code": "ORD1", "mch_redirect_url": "https://shop.example.com/ok",
				"mch_redirect_url_fail": "https://shop.example.com/fail", "product_name": "Widget", "refer_url": "https://shop.example.com/ok",
				"mch_notify_url": "https://shop.example.com/notify", "lang": "th", "expire_time": "30"},
			absent: []string{"device", "attach", "mch_appid"},
			reply:  map[string]any{"pay_content": "https://gateway.example/ua?order_uuid=abc&lang=th"},
			call: func(c *gateway.Client) (any, error) {
				return c.PaymentLinks.Create(ctx, &gateway.PaymentLinkCreateParams{Mid: testMid, MerchantOrderID: "ORD1", Amount: 15050,
					Channels: []string{"promptpay", "card"}, RedirectURL: "https://shop.example.com/ok", FailRedirectURL: "https://shop.example.com/fail",
					ProductName: gateway.String("Widget"), NotifyURL: gateway.String("https://shop.example.com/notify"), Lang: gateway.String("th"),
					ExpireMinutes: gateway.Int(30)})
			},
			check: func(t *testing.T, got any) {
				l := got.(*gateway.PaymentLink)
				if l.URL != "https://gateway.example/ua?order_uuid=abc&lang=th" || l.Status != gateway.StatusPending || l.Amount != 15050 || l.API != gateway.APIV3 {
					t.Errorf("link = %+v, want URL, pending, 15050, v3", l)
				}
				if len(l.Raw) == 0 {
					t.Errorf("Raw is empty")
				}
			},
		},
		{
			name:   "payment_links.get unpaid (NOTSURE)",
			path:   "/api/gateway_order_query",
			want:   map[string]string{"mch_order_no": "ORD1"},
			absent: []string{"channel"},
			reply: map[string]any{"result": "NOTSURE", "mch_order_no": "ORD1", "total_fee": 15050, "fee_type": "THB",
				"pay_mch_order_no": "2303031613445796", "nonce_str": ""},
			call: func(c *gateway.Client) (any, error) {
				return c.PaymentLinks.Get(ctx, &gateway.PaymentLinkGetParams{MerchantOrderID: "ORD1"})
			},
			check: func(t *testing.T, got any) {
				l := got.(*gateway.PaymentLink)
				if l.Status != gateway.StatusPending || l.RawStatus != "NOTSURE" || l.PayOrderID != "2303031613445796" || l.Mid != testMid {
					t.Errorf("link = %+v, want pending NOTSURE with PayOrderID", l)
				}
			},
		},
		{
			name:  "payment_links.get paid",
			path:  "/api/gateway_order_query",
			want:  map[string]string{"mch_order_no": "ORD1"},
			reply: map[string]any{"result": "SUCCESS", "mch_order_no": "ORD1", "total_fee": 15050, "ksher_order_no": "900123", "channel": "promptpay", "time_end": "2024-01-01 12:01:00"},
			call: func(c *gateway.Client) (any, error) {
				return c.PaymentLinks.Get(ctx, &gateway.PaymentLinkGetParams{MerchantOrderID: "ORD1"})
			},
			check: func(t *testing.T, got any) {
				l := got.(*gateway.PaymentLink)
				if l.Status != gateway.StatusPaid || l.KsherOrderID != "900123" || !l.PaidAt.Equal(time.Date(2024, 1, 1, 5, 1, 0, 0, time.UTC)) {
					t.Errorf("link = %+v, want paid", l)
				}
			},
		},
		{
			name:  "payment_links.cancel",
			path:  "/api/cancel_order",
			want:  map[string]string{"mch_order_no": "ORD1", "lang": "en"},
			reply: map[string]any{"mch_order_no": "ORD1"},
			call: func(c *gateway.Client) (any, error) {
				return c.PaymentLinks.Cancel(ctx, &gateway.PaymentLinkCancelParams{MerchantOrderID: "ORD1"})
			},
			check: func(t *testing.T, got any) {
				if l := got.(*gateway.PaymentLink); l.Status != gateway.StatusClosed {
					t.Errorf("status = %v, want closed", l.Status)
				}
			},
		},
		{
			name:   "orders.get by merchant order no",
			path:   "/KsherPay/order_query",
			want:   map[string]string{"mch_order_no": "ORD2", "appid": testMid},
			absent: []string{"ksher_order_no", "channel_order_no", "channel"},
			reply: map[string]any{"mch_order_no": "ORD2", "ksher_order_no": "900777", "channel_order_no": "CH1", "channel": "wechat",
				"total_fee": 100, "fee_type": "THB", "cash_fee": 23, "cash_fee_type": "CNY", "rate": "0.223410", "time_end": "2024-01-01 12:00:00"},
			call: func(c *gateway.Client) (any, error) {
				return c.Orders.Get(ctx, &gateway.OrderGetParams{Mid: testMid, MerchantOrderID: gateway.String("ORD2")})
			},
			check: func(t *testing.T, got any) {
				o := got.(*gateway.Order)
				if o.Status != gateway.StatusPaid || o.Amount != 100 || o.PaidAmount != 23 || o.PaidCurrency != "CNY" || o.Rate != "0.223410" || o.KsherOrderID != "900777" {
					t.Errorf("order = %+v", o)
				}
			},
		},
		{
			name:   "orders.get by ksher order no",
			path:   "/KsherPay/order_query",
			want:   map[string]string{"ksher_order_no": "900777"},
			absent: []string{"mch_order_no", "channel_order_no"},
			reply:  map[string]any{"result": "CLOSED", "ksher_order_no": "900777"},
			call: func(c *gateway.Client) (any, error) {
				return c.Orders.Get(ctx, &gateway.OrderGetParams{KsherOrderID: gateway.String("900777")})
			},
			check: func(t *testing.T, got any) {
				if o := got.(*gateway.Order); o.Status != gateway.StatusClosed || o.RawStatus != "CLOSED" {
					t.Errorf("status = %v/%q, want closed/CLOSED", o.Status, o.RawStatus)
				}
			},
		},
		{
			name:   "orders.get by channel order no",
			path:   "/KsherPay/order_query",
			want:   map[string]string{"channel_order_no": "CH1"},
			absent: []string{"mch_order_no", "ksher_order_no"},
			reply:  map[string]any{"result": "REFUND"},
			call: func(c *gateway.Client) (any, error) {
				return c.Orders.Get(ctx, &gateway.OrderGetParams{ChannelOrderID: gateway.String("CH1")})
			},
			check: func(t *testing.T, got any) {
				if o := got.(*gateway.Order); o.Status != gateway.StatusRefunded {
					t.Errorf("status = %v, want refunded", o.Status)
				}
			},
		},
		{
			name: "refunds.create partial",
			path: "/KsherPay/order_refund",
			want: map[string]string{"mch_order_no": "ORD2", "mch_refund_no": "RF1", "total_fee": "100", "refund_fee": "40", "fee_type": "THB", "channel": "wechat"},
			reply: map[string]any{"mch_order_no": "ORD2", "mch_refund_no": "RF1", "ksher_refund_no": "700001", "refund_fee": 40,
				"total_fee": 100},
			call: func(c *gateway.Client) (any, error) {
				return c.Refunds.Create(ctx, &gateway.RefundCreateParams{MerchantOrderID: gateway.String("ORD2"), RefundID: "RF1", Amount: 40,
					OrderAmount: 100, Channel: gateway.String("wechat")})
			},
			check: func(t *testing.T, got any) {
				r := got.(*gateway.Refund)
				if r.Status != gateway.StatusRefunded || r.Amount != 40 || r.KsherRefundID != "700001" || r.RefundID != "RF1" {
					t.Errorf("refund = %+v", r)
				}
			},
		},
		{
			name: "refunds.get",
			path: "/KsherPay/refund_query",
			want: map[string]string{"mch_order_no": "ORD2", "mch_refund_no": "RF2"},
			reply: map[string]any{"mch_order_no": "ORD2", "total_fee": 100, "refund_fee": "70", "refund_count": "2", "fee_type": "THB",
				"refund_orders": []any{
					map[string]any{"mch_refund_no": "RF1", "mch_refund_fee": 40, "ksher_refund_no": "7001", "channel_refund_no": "", "refund_state": "REFUNDSUCCESS", "refund_time": "t1"},
					map[string]any{"mch_refund_no": "RF2", "mch_refund_fee": 30, "ksher_refund_no": "7002", "channel_refund_no": "", "refund_state": "REFUNDSUCCESS", "refund_time": "t2"},
				}},
			call: func(c *gateway.Client) (any, error) {
				return c.Refunds.Get(ctx, &gateway.RefundGetParams{MerchantOrderID: gateway.String("ORD2"), RefundID: "RF2"})
			},
			check: func(t *testing.T, got any) {
				r := got.(*gateway.Refund)
				if r.Amount != 30 || r.KsherRefundID != "7002" || r.RefundedTotal != 70 || r.OrderAmount != 100 ||
					r.Status != gateway.StatusRefunded || r.OrderStatus != gateway.StatusPartiallyRefunded || r.RawStatus != "REFUNDSUCCESS" {
					t.Errorf("refund = %+v", r)
				}
			},
		},
		{
			// PromptPay has no refund_query (API.md A.7): the order is asked.
			name:   "refunds.get on a channel without refund_query",
			path:   "/KsherPay/order_query",
			want:   map[string]string{"mch_order_no": "ORD3"},
			absent: []string{"mch_refund_no"},
			reply: map[string]any{"result": "REFUND", "mch_order_no": "ORD3", "ksher_order_no": "900333", "total_fee": 100, "fee_type": "THB",
				"channel": "promptpay", "time_end": "2024-01-01 12:01:00"},
			call: func(c *gateway.Client) (any, error) {
				return c.Refunds.Get(ctx, &gateway.RefundGetParams{MerchantOrderID: gateway.String("ORD3"), RefundID: "RF3", Channel: gateway.String("promptpay")})
			},
			check: func(t *testing.T, got any) {
				r := got.(*gateway.Refund)
				if r.RefundID != "RF3" || r.Status != gateway.StatusUnknown || r.OrderStatus != gateway.StatusRefunded || r.OrderAmount != 100 ||
					r.KsherOrderID != "900333" || r.RawStatus != "REFUND" {
					t.Errorf("refund = %+v, want unknown on a refunded order", r)
				}
			},
		},
		{
			name:   "settlements.list",
			path:   "/KsherPay/get_settlement_info",
			want:   map[string]string{"mch_appid": testMid, "begin_date": "2024-01-01", "end_date": "2024-01-03"},
			absent: []string{"appid", "pay_channel"},
			reply: map[string]any{"begin_date": "2024-01-01", "end_date": "2024-01-03", "settlement_data": []any{
				map[string]any{"begin_date": "2024-01-01", "end_date": "2024-01-01", "pay_channel": "promptpay", "settlement_amount": 10780,
					"commission_fee": -57, "vat": -4, "settlement_date": "2024-01-02", "transfer_amount": 10719, "transfer_date": "2024-01-03"},
				map[string]any{"begin_date": "2024-01-02", "end_date": "2024-01-02", "pay_channel": "wechat", "settlement_amount": 2940,
					"commission_fee": 0, "vat": 0, "settlement_date": "2024-01-03", "transfer_amount": 0, "transfer_date": ""},
			}},
			call: func(c *gateway.Client) (any, error) {
				return collect(c.Settlements.List(ctx, &gateway.SettlementListParams{From: day, To: day.AddDate(0, 0, 2)}))
			},
			check: func(t *testing.T, got any) {
				s := got.([]*gateway.Settlement)
				if len(s) != 2 {
					t.Fatalf("settlements = %d, want 2", len(s))
				}
				if s[0].Channel != "promptpay" || s[0].Amount != 10780 || s[0].Fee != -57 || s[0].VAT != -4 || !s[0].Transferred || s[1].Transferred {
					t.Errorf("settlements = %+v, %+v", s[0], s[1])
				}
			},
		},
		{
			name: "channels.list",
			path: "/KsherPay/merchant_info",
			want: map[string]string{"appid": testMid},
			reply: map[string]any{"mobile": "0917804190", "mch_id": "35000", "account_type": "Test", "business_mode": "online",
				"mch_support_channel": []any{
					map[string]any{"pay_channel": "wechat", "settlement_time_type": "T+2", "single_order_limit": -1, "day_sum_limit": -1},
					map[string]any{"pay_channel": "alipay", "settlement_time_type": "T+1", "single_order_limit": 500000, "day_sum_limit": -1},
				}},
			call: func(c *gateway.Client) (any, error) { return c.Channels.List(ctx, &gateway.ChannelListParams{}) },
			check: func(t *testing.T, got any) {
				cl := got.(*gateway.ChannelList)
				if len(cl.Channels) != 2 || cl.Channels[0].Name != "alipay" || cl.Channels[0].SingleOrderLimit != 500000 || cl.Channels[1].SettlementCycle != "T+2" {
					t.Errorf("channels = %+v", cl.Channels)
				}
			},
		},
		{
			name: "merchant.info",
			path: "/KsherPay/merchant_info",
			want: map[string]string{"appid": testMid},
			reply: map[string]any{"mobile": "0917804190", "mch_id": "35000", "account_type": "Test", "business_mode": "online",
				"mch_appid": testMid, "allow_partial_refund": "Y", "mch_name": map[string]any{"merchant_name": "Shop", "mch_brief_name": "S"}},
			call: func(c *gateway.Client) (any, error) {
				return c.Merchant.Info(ctx, &gateway.MerchantInfoParams{Mid: testMid})
			},
			check: func(t *testing.T, got any) {
				m := got.(*gateway.MerchantInfo)
				if !m.Test || !m.AllowPartialRefund || m.Name != "Shop" || m.MerchantID != "35000" || len(m.SignedFields) != 5 {
					t.Errorf("merchant = %+v", m)
				}
			},
		},
		{
			name:  "counter.qr",
			path:  "/KsherPay/native_pay",
			want:  map[string]string{"mch_order_no": "Q1", "total_fee": "100", "fee_type": "THB", "channel": "promptpay"},
			reply: map[string]any{"mch_order_no": "Q1", "ksher_order_no": "900888", "code_url": "000201...", "PaymentCode": "000201...", "imgdat": "data:image/png;base64,AA=="},
			call: func(c *gateway.Client) (any, error) {
				return c.Counter.QR(ctx, &gateway.QRParams{MerchantOrderID: "Q1", Amount: 100, Channel: "promptpay"})
			},
			check: func(t *testing.T, got any) {
				q := got.(*gateway.QRCode)
				if q.Payload != "000201..." || q.ImageDataURL != "data:image/png;base64,AA==" || q.KsherOrderID != "900888" || q.Status != gateway.StatusPending {
					t.Errorf("qr = %+v", q)
				}
			},
		},
		{
			name:  "counter.charge paid",
			path:  "/KsherPay/quick_pay",
			want:  map[string]string{"mch_order_no": "C1", "total_fee": "100", "fee_type": "THB", "channel": "truemoney", "auth_code": "1234567890", "operator_id": "op1"},
			reply: map[string]any{"mch_order_no": "C1", "ksher_order_no": "900999", "time_end": "2024-01-01 12:00:00"},
			call: func(c *gateway.Client) (any, error) {
				return c.Counter.Charge(ctx, &gateway.ChargeParams{MerchantOrderID: "C1", Amount: 100, Channel: "truemoney", AuthCode: "1234567890", OperatorID: gateway.String("op1")})
			},
			check: func(t *testing.T, got any) {
				if ch := got.(*gateway.Charge); ch.Status != gateway.StatusPaid || ch.KsherOrderID != "900999" {
					t.Errorf("charge = %+v", ch)
				}
			},
		},
		{
			name:  "counter.charge NOTSURE",
			path:  "/KsherPay/quick_pay",
			want:  map[string]string{"mch_order_no": "C2", "auth_code": "1234567890"},
			reply: map[string]any{"result": "NOTSURE", "err_code": "PAYMENT_IN_PROCESS", "err_msg": "waiting for PIN", "mch_order_no": "C2", "ksher_order_no": "901"},
			call: func(c *gateway.Client) (any, error) {
				return c.Counter.Charge(ctx, &gateway.ChargeParams{MerchantOrderID: "C2", Amount: 100, Channel: "wechat", AuthCode: "1234567890"})
			},
			check: func(t *testing.T, got any) {
				ch := got.(*gateway.Charge)
				if ch.Status != gateway.StatusNotSure || ch.RawStatus != "NOTSURE" || ch.RawCode != "PAYMENT_IN_PROCESS" {
					t.Errorf("charge = %+v, want not_sure", ch)
				}
			},
		},
		{
			name:  "counter.reverse",
			path:  "/KsherPay/order_reverse",
			want:  map[string]string{"mch_order_no": "C2", "channel": "wechat"},
			reply: map[string]any{"mch_order_no": "C2"},
			call: func(c *gateway.Client) (any, error) {
				return c.Counter.Reverse(ctx, &gateway.ReverseParams{MerchantOrderID: gateway.String("C2"), Channel: gateway.String("wechat")})
			},
			check: func(t *testing.T, got any) {
				if r := got.(*gateway.Reversal); r.Status != gateway.StatusReversed || r.MerchantOrderID != "C2" {
					t.Errorf("reversal = %+v", r)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newV3Server(t, func(op string, f url.Values, n int) v3Reply { return v3Reply{Data: tt.reply} })
			c := newV3Client(t, srv, newClock())
			got, err := tt.call(c)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			reqs := srv.Requests()
			if len(reqs) != 1 {
				t.Fatalf("requests = %d, want 1", len(reqs))
			}
			r := reqs[0]
			if r.Path != tt.path {
				t.Errorf("path = %q, want %q", r.Path, tt.path)
			}
			for k, v := range tt.want {
				if got := r.Fields.Get(k); got != v {
					t.Errorf("field %s = %q, want %q", k, got, v)
				}
			}
			for _, k := range tt.absent {
				if r.Fields.Has(k) {
					t.Errorf("field %s sent, want absent", k)
				}
			}
			for _, k := range []string{"nonce_str", "time_stamp", "sign"} {
				if r.Fields.Get(k) == "" {
					t.Errorf("field %s missing", k)
				}
			}
			if h := r.Header.Get("ksher-sign-version"); h != "" {
				t.Errorf("ksher-sign-version = %q, want none", h)
			}
			tt.check(t, got)
		})
	}
}

func TestV3UnsupportedAndInvalid(t *testing.T) {
	ctx := context.Background()
	srv := newV3Server(t, func(string, url.Values, int) v3Reply { return v3Reply{} })
	c := newV3Client(t, srv, newClock())
	tests := []struct {
		name string
		call func() error
		want gateway.ErrorKind
	}{
		{"transactions.list", func() error {
			_, err := collect(c.Transactions.List(ctx, &gateway.TransactionListParams{Date: time.Now()}))
			return err
		}, gateway.KindUnsupported},
		{"settlements.orders", func() error {
			_, err := collect(c.Settlements.Orders(ctx, &gateway.SettlementOrdersParams{ReferenceID: "x"}))
			return err
		}, gateway.KindUnsupported},
		{"two order ids", func() error {
			_, err := c.Orders.Get(ctx, &gateway.OrderGetParams{MerchantOrderID: gateway.String("a"), KsherOrderID: gateway.String("b")})
			return err
		}, gateway.KindInvalidRequest},
		{"unknown mid", func() error {
			_, err := c.Orders.Get(ctx, &gateway.OrderGetParams{Mid: "mch1", MerchantOrderID: gateway.String("a")})
			return err
		}, gateway.KindInvalidRequest},
		{"refund above order amount", func() error {
			_, err := c.Refunds.Create(ctx, &gateway.RefundCreateParams{MerchantOrderID: gateway.String("a"), RefundID: "r", Amount: 101, OrderAmount: 100})
			return err
		}, gateway.KindInvalidRequest},
		{"card refund by the merchant's order number", func() error {
			_, err := c.Refunds.Create(ctx, &gateway.RefundCreateParams{MerchantOrderID: gateway.String("a"), RefundID: "r", Amount: 100, OrderAmount: 100,
				Channel: gateway.String("card")})
			return err
		}, gateway.KindInvalidRequest},
		{"link without channels", func() error {
			_, err := c.PaymentLinks.Create(ctx, &gateway.PaymentLinkCreateParams{MerchantOrderID: "a", Amount: 1, RedirectURL: "u", FailRedirectURL: "f"})
			return err
		}, gateway.KindInvalidRequest},
		{"nil params", func() error {
			_, err := c.Refunds.Get(ctx, nil)
			return err
		}, gateway.KindInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if got := errKind(err); got != tt.want {
				t.Errorf("kind = %q (%v), want %q", got, err, tt.want)
			}
			if tt.want == gateway.KindUnsupported && !errors.Is(err, gateway.ErrUnsupported) {
				t.Errorf("errors.Is(err, ErrUnsupported) = false")
			}
		})
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("requests = %d, want 0", n)
	}
}

func TestV3SignVersionHeader(t *testing.T) {
	srv := newV3Server(t, func(string, url.Values, int) v3Reply { return v3Reply{Data: map[string]any{"result": "SUCCESS"}} })
	cfg := gateway.Config{Kind: gateway.APIV3, SignVersion: "V2",
		Credentials:    map[string]gateway.Credentials{testMid: {AppID: testMid, PrivateKey: MustPrivateKey(t, "mch_priv_pkcs8.pem")}},
		KsherPublicKey: MustPublicKey(t, "ksim_pub_spki.pem")}
	c, err := gateway.New(cfg, gateway.WithBaseURL(srv.srv.URL), gateway.WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Orders.Get(context.Background(), &gateway.OrderGetParams{MerchantOrderID: gateway.String("x")}); err != nil {
		t.Fatal(err)
	}
	if h := srv.Requests()[0].Header.Get("ksher-sign-version"); h != "V2" {
		t.Errorf("ksher-sign-version = %q, want V2", h)
	}
}
