package gateway_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/gateway"
	"github.com/ksherdash/ksherdash/gateway/ksign"
)

func TestNewValidates(t *testing.T) {
	key := MustPrivateKey(t, "mch_priv_pkcs1.pem")
	creds := map[string]gateway.Credentials{testMid: {AppID: testMid, PrivateKey: key}}
	tests := []struct {
		name string
		cfg  gateway.Config
		opts []gateway.Option
		ok   bool
	}{
		{"v3 defaults", gateway.Config{Kind: gateway.APIV3, Credentials: creds}, nil, true},
		{"unknown kind", gateway.Config{Kind: "v2", Credentials: creds}, nil, false},
		{"v3 without credentials", gateway.Config{Kind: gateway.APIV3}, nil, false},
		{"v3 without key", gateway.Config{Kind: gateway.APIV3, Credentials: map[string]gateway.Credentials{testMid: {AppID: testMid}}}, nil, false},
		{"v3 bad base URL", gateway.Config{Kind: gateway.APIV3, Credentials: creds, BaseURL: "ftp://x"}, nil, false},
		{"vip", gateway.Config{Kind: gateway.APIVIP, BaseURL: "https://shop.vip.ksher.net", Token: "t"}, nil, true},
		{"vip without token", gateway.Config{Kind: gateway.APIVIP, BaseURL: "https://shop.vip.ksher.net"}, nil, false},
		{"vip without base URL", gateway.Config{Kind: gateway.APIVIP, Token: "t"}, nil, false},
		{"vip base URL with query", gateway.Config{Kind: gateway.APIVIP, BaseURL: "https://shop.vip.ksher.net?x=1", Token: "t"}, nil, false},
		{"http client without timeout", gateway.Config{Kind: gateway.APIVIP, BaseURL: "https://a.example", Token: "t"},
			[]gateway.Option{gateway.WithHTTPClient(&http.Client{})}, false},
		{"negative retries", gateway.Config{Kind: gateway.APIVIP, BaseURL: "https://a.example", Token: "t"},
			[]gateway.Option{gateway.WithMaxRetries(-1)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := gateway.New(tt.cfg, tt.opts...)
			if (err == nil) != tt.ok {
				t.Fatalf("New error = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && strings.Contains(err.Error(), "t\"") {
				t.Errorf("error mentions the token: %v", err)
			}
			if c != nil && c.API() != tt.cfg.Kind {
				t.Errorf("API() = %v, want %v", c.API(), tt.cfg.Kind)
			}
		})
	}
}

func TestSecretsNeverPrinted(t *testing.T) {
	key := MustPrivateKey(t, "mch_priv_pkcs1.pem")
	secretD := key.D.String()[:20]
	const token = "supersecret-token-value"
	cfgs := []gateway.Config{
		{Kind: gateway.APIV3, Credentials: map[string]gateway.Credentials{testMid: {AppID: testMid, PrivateKey: key}}},
		{Kind: gateway.APIVIP, BaseURL: "https://shop.vip.ksher.net", Token: token, Mids: []string{vipMidID}},
	}
	for _, cfg := range cfgs {
		t.Run(string(cfg.Kind), func(t *testing.T) {
			var buf bytes.Buffer
			l := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
			l.Info("config", "cfg", cfg, "creds", cfg.Credentials[testMid])
			c, err := gateway.New(cfg, gateway.WithLogger(l))
			if err != nil {
				t.Fatal(err)
			}
			l.Info("client", "client", c)
			out := buf.String() + fmt.Sprintf("%v %+v %#v %v %#v", cfg, cfg, cfg, cfg.Credentials[testMid], cfg.Credentials[testMid])
			for _, secret := range []string{token, secretD} {
				if strings.Contains(out, secret) {
					t.Errorf("output contains a secret: %s", out)
				}
			}
			if !strings.Contains(buf.String(), "[REDACTED]") {
				t.Errorf("log = %s, want [REDACTED]", buf.String())
			}
		})
	}
}

func TestVIPTransportErrorHidesSignature(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	base := dead.URL
	dead.Close()
	var logs bytes.Buffer
	c, err := gateway.New(gateway.Config{Kind: gateway.APIVIP, BaseURL: base, Token: vipToken},
		gateway.WithNoSleep(), gateway.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		gateway.WithHTTPClient(&http.Client{Timeout: time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Orders.Get(context.Background(), &gateway.OrderGetParams{MerchantOrderID: gateway.String("O1")})
	if errKind(err) != gateway.KindTransport {
		t.Fatalf("err = %v, want KindTransport", err)
	}
	for name, s := range map[string]string{"error": err.Error(), "logs": logs.String()} {
		if strings.Contains(s, "signature=") || strings.Contains(s, vipToken) {
			t.Errorf("%s leaks the signature or token: %s", name, s)
		}
	}
}

func TestRetries(t *testing.T) {
	ctx := context.Background()
	unavailable := v3Reply{Status: http.StatusServiceUnavailable, Raw: []byte("busy")}
	tests := []struct {
		name      string
		replies   []v3Reply // by attempt; the last one repeats
		call      func(c *gateway.Client) error
		op        string
		wantCalls int
		wantKind  gateway.ErrorKind // "" = success
		sameBody  bool
	}{
		{"read retried after 503", []v3Reply{unavailable, unavailable, {}},
			func(c *gateway.Client) error {
				_, err := c.Orders.Get(ctx, &gateway.OrderGetParams{MerchantOrderID: gateway.String("O1")})
				return err
			}, "order_query", 3, "", true},
		{"read gives up after max retries", []v3Reply{unavailable},
			func(c *gateway.Client) error {
				_, err := c.Orders.Get(ctx, &gateway.OrderGetParams{MerchantOrderID: gateway.String("O1")})
				return err
			}, "order_query", 3, gateway.KindTransport, true},
		{"read not retried after 500", []v3Reply{{Status: 500, Raw: []byte("oops")}, {}},
			func(c *gateway.Client) error {
				_, err := c.Orders.Get(ctx, &gateway.OrderGetParams{MerchantOrderID: gateway.String("O1")})
				return err
			}, "order_query", 1, gateway.KindTransport, true},
		{"read retried after malformed body", []v3Reply{{Raw: []byte(`{"code":0,"data":{`)}, {}},
			func(c *gateway.Client) error {
				_, err := c.Orders.Get(ctx, &gateway.OrderGetParams{MerchantOrderID: gateway.String("O1")})
				return err
			}, "order_query", 2, "", true},
		{"read retried after SYSTEMERROR", []v3Reply{{Data: map[string]any{"result": "FAIL", "err_code": "SYSTEMERROR", "err_msg": "x"}}, {}},
			func(c *gateway.Client) error {
				_, err := c.Orders.Get(ctx, &gateway.OrderGetParams{MerchantOrderID: gateway.String("O1")})
				return err
			}, "order_query", 2, "", true},
		{"read not retried after a business error", []v3Reply{{Data: map[string]any{"result": "FAIL", "err_code": "KSHER_INVALID_ORDER_NO", "err_msg": "x"}}, {}},
			func(c *gateway.Client) error {
				_, err := c.Orders.Get(ctx, &gateway.OrderGetParams{MerchantOrderID: gateway.String("O1")})
				return err
			}, "order_query", 1, gateway.KindAPI, true},
		{"rate limit not retried", []v3Reply{{Data: map[string]any{"result": "FAIL", "err_code": gateway.CodeTooManyRequests}}, {}},
			func(c *gateway.Client) error {
				_, err := c.Orders.Get(ctx, &gateway.OrderGetParams{MerchantOrderID: gateway.String("O1")})
				return err
			}, "order_query", 1, gateway.KindRateLimited, true},
		{"bad signature not retried", []v3Reply{{Tamper: flipInBody(`O1"`), Data: map[string]any{"mch_order_no": "O1"}}, {}},
			func(c *gateway.Client) error {
				_, err := c.Orders.Get(ctx, &gateway.OrderGetParams{MerchantOrderID: gateway.String("O1")})
				return err
			}, "order_query", 1, gateway.KindBadSignature, true},
		{"refund re-sent identically after 503 and code!=0", []v3Reply{unavailable, {Code: 1, Msg: "busy"}, {}},
			func(c *gateway.Client) error {
				_, err := c.Refunds.Create(ctx, &gateway.RefundCreateParams{MerchantOrderID: gateway.String("O1"), RefundID: "RF-7", Amount: 10, OrderAmount: 100})
				return err
			}, "order_refund", 3, "", true},
		{"refund not retried after 500", []v3Reply{{Status: 500}, {}},
			func(c *gateway.Client) error {
				_, err := c.Refunds.Create(ctx, &gateway.RefundCreateParams{MerchantOrderID: gateway.String("O1"), RefundID: "RF-7", Amount: 10, OrderAmount: 100})
				return err
			}, "order_refund", 1, gateway.KindTransport, true},
		{"payment link create never retried", []v3Reply{unavailable, {}},
			func(c *gateway.Client) error {
				_, err := c.PaymentLinks.Create(ctx, &gateway.PaymentLinkCreateParams{MerchantOrderID: "L1", Amount: 1, Channels: []string{"promptpay"}, RedirectURL: "u", FailRedirectURL: "f"})
				return err
			}, "gateway_pay", 1, gateway.KindTransport, true},
		{"charge never retried", []v3Reply{{Code: 1}, {}},
			func(c *gateway.Client) error {
				_, err := c.Counter.Charge(ctx, &gateway.ChargeParams{MerchantOrderID: "C1", Amount: 1, Channel: "wechat", AuthCode: "1"})
				return err
			}, "quick_pay", 1, gateway.KindAPI, true},
		{"qr never retried", []v3Reply{unavailable, {}},
			func(c *gateway.Client) error {
				_, err := c.Counter.QR(ctx, &gateway.QRParams{MerchantOrderID: "Q1", Amount: 1, Channel: "promptpay"})
				return err
			}, "native_pay", 1, gateway.KindTransport, true},
		{"reverse never retried", []v3Reply{unavailable, {}},
			func(c *gateway.Client) error {
				_, err := c.Counter.Reverse(ctx, &gateway.ReverseParams{MerchantOrderID: gateway.String("C1")})
				return err
			}, "order_reverse", 1, gateway.KindTransport, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newV3Server(t, func(op string, f url.Values, n int) v3Reply {
				return tt.replies[min(n, len(tt.replies))-1]
			})
			clk := newClock()
			c := newV3Client(t, srv, clk)
			sleeps := gateway.RecordSleeps(c, clk.Advance)
			err := tt.call(c)
			if got := errKind(err); got != tt.wantKind {
				t.Errorf("error kind = %q (%v), want %q", got, err, tt.wantKind)
			}
			if got := srv.Count(tt.op); got != tt.wantCalls {
				t.Errorf("%s calls = %d, want %d", tt.op, got, tt.wantCalls)
			}
			if len(*sleeps) != tt.wantCalls-1 {
				t.Errorf("sleeps = %v, want %d", *sleeps, tt.wantCalls-1)
			}
			reqs := srv.Requests()
			for i := 1; i < len(reqs); i++ {
				if reqs[i].Body != reqs[0].Body {
					t.Errorf("attempt %d body differs from the first:\n%s\n%s", i+1, reqs[i].Body, reqs[0].Body)
				}
			}
			if len(reqs) > 0 && tt.op == "order_refund" && reqs[0].Fields.Get("mch_refund_no") != "RF-7" {
				t.Errorf("mch_refund_no = %q, want RF-7", reqs[0].Fields.Get("mch_refund_no"))
			}
		})
	}
}

func TestRetryOfAQueryKeepsTenSeconds(t *testing.T) {
	srv := newV3Server(t, func(op string, f url.Values, n int) v3Reply {
		if n < 3 {
			return v3Reply{Status: http.StatusBadGateway}
		}
		return v3Reply{}
	})
	clk := newClock()
	c := newV3Client(t, srv, clk)
	sleeps := gateway.RecordSleeps(c, clk.Advance)
	if _, err := c.Orders.Get(context.Background(), &gateway.OrderGetParams{MerchantOrderID: gateway.String("O1")}); err != nil {
		t.Fatal(err)
	}
	if len(*sleeps) != 2 {
		t.Fatalf("sleeps = %v, want 2", *sleeps)
	}
	for _, d := range *sleeps {
		if d < gateway.QueryInterval {
			t.Errorf("sleep = %v, want >= %v between two queries of one order", d, gateway.QueryInterval)
		}
	}
	// Refund creation is not a query: plain backoff.
	srv2 := newV3Server(t, func(op string, f url.Values, n int) v3Reply {
		if n < 2 {
			return v3Reply{Status: http.StatusServiceUnavailable}
		}
		return v3Reply{}
	})
	c2 := newV3Client(t, srv2, clk)
	sleeps2 := gateway.RecordSleeps(c2, clk.Advance)
	if _, err := c2.Refunds.Create(context.Background(), &gateway.RefundCreateParams{MerchantOrderID: gateway.String("O1"), RefundID: "R1", Amount: 1, OrderAmount: 1}); err != nil {
		t.Fatal(err)
	}
	if len(*sleeps2) != 1 || (*sleeps2)[0] < 250*time.Millisecond || (*sleeps2)[0] > 500*time.Millisecond {
		t.Errorf("refund sleeps = %v, want one in [250ms, 500ms]", *sleeps2)
	}
}

func TestBackoffBounds(t *testing.T) {
	c, err := gateway.New(gateway.Config{Kind: gateway.APIVIP, BaseURL: "https://a.example", Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	for attempt := 0; attempt < 12; attempt++ {
		for range 50 {
			d := gateway.Backoff(c, attempt)
			ceil := min(500*time.Millisecond<<attempt, 5*time.Second)
			if d < ceil/2 || d > ceil {
				t.Fatalf("Backoff(%d) = %v, want in [%v, %v]", attempt, d, ceil/2, ceil)
			}
		}
	}
}

func TestRetryStopsAtDeadline(t *testing.T) {
	srv := newV3Server(t, func(string, url.Values, int) v3Reply { return v3Reply{Status: http.StatusServiceUnavailable} })
	c, err := gateway.New(gateway.Config{Kind: gateway.APIV3, KsherPublicKey: MustPublicKey(t, "ksim_pub_spki.pem"),
		Credentials: map[string]gateway.Credentials{testMid: {AppID: testMid, PrivateKey: MustPrivateKey(t, "mch_priv_pkcs1.pem")}}},
		gateway.WithBaseURL(srv.srv.URL), gateway.WithLogger(discardLogger()), gateway.WithMaxRetries(5))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = c.Refunds.Create(ctx, &gateway.RefundCreateParams{MerchantOrderID: gateway.String("O1"), RefundID: "R1", Amount: 1, OrderAmount: 1})
	if errKind(err) != gateway.KindTransport {
		t.Errorf("err = %v, want the last KindTransport", err)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("took %v, want the call to stop at the deadline", el)
	}
	if n := srv.Count("order_refund"); n > 2 {
		t.Errorf("requests = %d, want at most 2 within 200 ms", n)
	}
}

func TestTimeouts(t *testing.T) {
	srv := newV3Server(t, func(op string, f url.Values, n int) v3Reply { return v3Reply{Delay: 300 * time.Millisecond} })
	clk := newClock()
	c := newV3Client(t, srv, clk, gateway.WithHTTPClient(&http.Client{Timeout: 50 * time.Millisecond}))
	gateway.RecordSleeps(c, clk.Advance)
	_, err := c.Orders.Get(context.Background(), &gateway.OrderGetParams{MerchantOrderID: gateway.String("O1")})
	if errKind(err) != gateway.KindTimeout {
		t.Errorf("read err = %v, want KindTimeout", err)
	}
	if n := srv.Count("order_query"); n != 3 {
		t.Errorf("read attempts = %d, want 3", n)
	}
	_, err = c.Counter.Charge(context.Background(), &gateway.ChargeParams{MerchantOrderID: "C1", Amount: 1, Channel: "wechat", AuthCode: "1"})
	if errKind(err) != gateway.KindTimeout {
		t.Errorf("charge err = %v, want KindTimeout", err)
	}
	if n := srv.Count("quick_pay"); n != 1 {
		t.Errorf("charge attempts = %d, want 1 (never retried)", n)
	}
	// The caller's deadline wins over retries.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, err = c.Refunds.Create(ctx, &gateway.RefundCreateParams{MerchantOrderID: gateway.String("O1"), RefundID: "R1", Amount: 1, OrderAmount: 1})
	if errKind(err) != gateway.KindTimeout {
		t.Errorf("refund err = %v, want KindTimeout", err)
	}
	if n := srv.Count("order_refund"); n != 1 {
		t.Errorf("refund attempts = %d, want 1 (deadline passed)", n)
	}
}

func TestVIPRetries(t *testing.T) {
	ctx := context.Background()
	refund := vipOrderObj("RF1", -10, "Refunded", "REFUNDED")
	tests := []struct {
		name      string
		key       string
		call      func(c *gateway.Client) error
		wantCalls int
		wantKind  gateway.ErrorKind
	}{
		{"refund PUT re-sent identically", "PUT /api/v1/redirect/orders/O1", func(c *gateway.Client) error {
			_, err := c.Refunds.Create(ctx, &gateway.RefundCreateParams{MerchantOrderID: gateway.String("O1"), RefundID: "RF1", Amount: 10})
			return err
		}, 3, ""},
		{"query GET retried", "GET /api/v1/redirect/orders/O1", func(c *gateway.Client) error {
			_, err := c.Orders.Get(ctx, &gateway.OrderGetParams{MerchantOrderID: gateway.String("O1")})
			return err
		}, 3, ""},
		{"charge POST not retried", "POST /api/v1/bscanc/orders", func(c *gateway.Client) error {
			_, err := c.Counter.Charge(ctx, &gateway.ChargeParams{MerchantOrderID: "C1", Amount: 1, Channel: "wechat", AuthCode: "1"})
			return err
		}, 1, gateway.KindTransport},
		{"link POST not retried", "POST /api/v1/redirect/orders", func(c *gateway.Client) error {
			_, err := c.PaymentLinks.Create(ctx, &gateway.PaymentLinkCreateParams{MerchantOrderID: "L1", Amount: 1, RedirectURL: "u", FailRedirectURL: "f"})
			return err
		}, 1, gateway.KindTransport},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newVIPServer(t, "", func(r vipReq, n int) vipReply {
				if n < 3 {
					return vipReply{Status: http.StatusBadGateway, Raw: []byte("<html>bad gateway</html>")}
				}
				if r.Method == http.MethodPut {
					return vipReply{Obj: refund}
				}
				return vipReply{Obj: vipOrderObj("O1", 1, "Paid", "SUCCESS")}
			})
			clk := newClock()
			c := newVIPClient(t, srv, clk, nil)
			gateway.RecordSleeps(c, clk.Advance)
			err := tt.call(c)
			if got := errKind(err); got != tt.wantKind {
				t.Errorf("kind = %q (%v), want %q", got, err, tt.wantKind)
			}
			if n := srv.Count(tt.key); n != tt.wantCalls {
				t.Errorf("calls = %d, want %d", n, tt.wantCalls)
			}
			reqs := srv.Requests()
			for i := 1; i < len(reqs); i++ {
				if !bytes.Equal(reqs[i].Body, reqs[0].Body) || reqs[i].Query.Encode() != reqs[0].Query.Encode() {
					t.Errorf("attempt %d differs from the first", i+1)
				}
			}
		})
	}
}

func TestTenSecondRule(t *testing.T) {
	ctx := context.Background()
	t.Run("v3 cached answer, then a new query after 10 s", func(t *testing.T) {
		srv := newV3Server(t, func(op string, f url.Values, n int) v3Reply {
			return v3Reply{Data: map[string]any{"result": []string{"NOTPAY", "SUCCESS"}[min(n, 2)-1], "mch_order_no": f.Get("mch_order_no"), "ksher_order_no": "K-" + f.Get("mch_order_no")}}
		})
		clk := newClock()
		c := newV3Client(t, srv, clk)
		p := &gateway.OrderGetParams{MerchantOrderID: gateway.String("O1")}
		first, err := c.Orders.Get(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		first.Status = "mutated by caller"
		clk.Advance(9 * time.Second)
		second, err := c.Orders.Get(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if !second.Cached || second.Status != gateway.StatusPending || srv.Count("order_query") != 1 {
			t.Errorf("second = cached %v status %v, calls %d; want cached pending, 1 call", second.Cached, second.Status, srv.Count("order_query"))
		}
		// Another order, or the same order through another id kind, is independent.
		if _, err := c.Orders.Get(ctx, &gateway.OrderGetParams{MerchantOrderID: gateway.String("O2")}); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Second)
		third, err := c.Orders.Get(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if third.Cached || third.Status != gateway.StatusPaid || srv.Count("order_query") != 3 {
			t.Errorf("third = cached %v status %v, calls %d; want fresh paid, 3 calls", third.Cached, third.Status, srv.Count("order_query"))
		}
		// The answer named the order's Ksher number: querying by it is the
		// same order, within the interval.
		byKsher, err := c.Orders.Get(ctx, &gateway.OrderGetParams{KsherOrderID: gateway.String("K-O1")})
		if err != nil {
			t.Fatal(err)
		}
		if !byKsher.Cached || byKsher.MerchantOrderID != "O1" || srv.Count("order_query") != 3 {
			t.Errorf("by ksher id = cached %v %q, calls %d; want the cached answer", byKsher.Cached, byKsher.MerchantOrderID, srv.Count("order_query"))
		}
	})
	t.Run("v3 no earlier answer: rate limited with the wait", func(t *testing.T) {
		srv := newV3Server(t, func(string, url.Values, int) v3Reply {
			return v3Reply{Data: map[string]any{"result": "FAIL", "err_code": "KSHER_INVALID_ORDER_NO"}}
		})
		clk := newClock()
		c := newV3Client(t, srv, clk)
		p := &gateway.RefundGetParams{MerchantOrderID: gateway.String("O1"), RefundID: "R1"}
		if _, err := c.Refunds.Get(ctx, p); errKind(err) != gateway.KindAPI {
			t.Fatalf("first err = %v, want KindAPI", err)
		}
		clk.Advance(3 * time.Second)
		_, err := c.Refunds.Get(ctx, p)
		var ge *gateway.Error
		if !errors.As(err, &ge) || ge.Kind != gateway.KindRateLimited || ge.RetryAfter != 7*time.Second {
			t.Errorf("second err = %v, want KindRateLimited with RetryAfter 7s", err)
		}
		if n := srv.Count("refund_query"); n != 1 {
			t.Errorf("refund_query calls = %d, want 1", n)
		}
	})
	t.Run("concurrent callers send one query", func(t *testing.T) {
		srv := newV3Server(t, func(string, url.Values, int) v3Reply { return v3Reply{Delay: 50 * time.Millisecond} })
		c := newV3Client(t, srv, newClock())
		var wg sync.WaitGroup
		errs := make([]error, 10)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = c.PaymentLinks.Get(ctx, &gateway.PaymentLinkGetParams{MerchantOrderID: "L1"})
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch errKind(err) {
			case "":
				ok++
			case gateway.KindRateLimited:
			default:
				t.Errorf("err = %v", err)
			}
		}
		if n := srv.Count("gateway_order_query"); n != 1 || ok < 1 {
			t.Errorf("queries = %d (ok %d), want 1", n, ok)
		}
	})
	t.Run("vip per mid", func(t *testing.T) {
		srv := newVIPServer(t, "", func(vipReq, int) vipReply { return vipReply{Obj: vipOrderObj("O1", 1, "Available", "PENDING")} })
		clk := newClock()
		c := newVIPClient(t, srv, clk, []string{"mch1", "mch2"})
		for _, mid := range []string{"mch1", "mch2", "mch1"} {
			if _, err := c.Orders.Get(ctx, &gateway.OrderGetParams{Mid: mid, MerchantOrderID: gateway.String("O1")}); err != nil {
				t.Fatal(err)
			}
		}
		if n := srv.Count("GET /api/v1/redirect/orders/O1"); n != 2 {
			t.Errorf("queries = %d, want 2 (one per mid)", n)
		}
	})
}

func TestNotifications(t *testing.T) {
	ksher := MustPrivateKey(t, "ksim_priv_pkcs1.pem")
	signed := func(data map[string]any) []byte {
		sign, err := ksign.V3Sign(ksher, data)
		if err != nil {
			t.Fatal(err)
		}
		return MustJSON(t, map[string]any{"code": 0, "msg": "ok", "message": "SUCCESS", "data": data, "sign": sign, "status_code": "", "status_msg": ""})
	}
	payment := map[string]any{"appid": testMid, "mch_order_no": "O1", "ksher_order_no": "900", "result": "SUCCESS", "total_fee": 100,
		"fee_type": "THB", "channel": "promptpay", "time_end": "2024-01-01 12:00:00", "nonce_str": "abc", "attach": ""}
	link := map[string]any{"appid": testMid, "mch_order_no": "L1", "pay_mch_order_no": "P1", "result": "SUCCESS", "total_fee": 100, "fee_type": "THB"}
	other := map[string]any{"appid": "mch99999", "mch_order_no": "O1", "result": "SUCCESS", "total_fee": 100}

	srv := newV3Server(t, func(string, url.Values, int) v3Reply { return v3Reply{} })
	c3 := newV3Client(t, srv, newClock())
	v3tests := []struct {
		name string
		body []byte
		ok   bool
		typ  string
	}{
		{"payment", signed(payment), true, "payment"},
		{"payment link", signed(link), true, "payment_link"},
		{"url-encoded body", []byte(url.QueryEscape(string(signed(payment)))), true, "payment"},
		{"one byte changed", flipInBody(`promptpay"`)(signed(payment)), false, ""},
		{"flipped sign", func() []byte {
			b := signed(payment)
			i := bytes.Index(b, []byte(`"sign":"`)) + 8
			b[i] ^= 0x01
			return b
		}(), false, ""},
		{"another merchant", signed(other), false, ""},
		{"not json", []byte("hello"), false, ""},
	}
	for _, tt := range v3tests {
		t.Run("v3 "+tt.name, func(t *testing.T) {
			n, err := c3.Notifications.ParseV3(tt.body)
			if !tt.ok {
				if errKind(err) != gateway.KindBadSignature || !errors.Is(err, gateway.ErrBadSignature) {
					t.Errorf("err = %v, want KindBadSignature", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n.Status != gateway.StatusPaid || n.Amount != 100 || n.Mid != testMid || n.Type != tt.typ {
				t.Errorf("notification = %+v", n)
			}
			// A replay key: the sign as sent, in v3's lower case.
			if n.Signature == "" || n.Signature != strings.ToLower(n.Signature) || !bytes.Contains(tt.body, []byte(n.Signature)) {
				t.Errorf("signature = %q, want the body's sign in lower case", n.Signature)
			}
			if tt.typ == "payment" && !n.PaidAt.Equal(time.Date(2024, 1, 1, 5, 0, 0, 0, time.UTC)) {
				t.Errorf("paid at %v, want 12:00 ICT = 05:00 UTC", n.PaidAt)
			}
		})
	}

	var v vectors
	MustLoadJSON(t, "vectors.json", &v)
	var g5 url.Values
	var g5url string
	for _, g := range v.Gateway {
		if strings.HasPrefix(g.Path, "https://") {
			g5url, g5 = g.Path, url.Values{"signature": {g.Signature}}
			for k, val := range g.Params {
				g5.Set(k, val.(string))
			}
		}
	}
	vsrv := newVIPServer(t, "", func(vipReq, int) vipReply { return vipReply{} })
	cv := newVIPClient(t, vsrv, newClock(), nil)
	with := func(k, val string) url.Values {
		q := url.Values{}
		for kk, vv := range g5 {
			q[kk] = append([]string(nil), vv...)
		}
		if val == "" {
			q.Del(k)
		} else {
			q.Set(k, val)
		}
		return q
	}
	viptests := []struct {
		name  string
		url   string
		query url.Values
		ok    bool
	}{
		{"G5", g5url, g5, true},
		{"G5, URL given with its query", g5url + "?" + g5.Encode(), g5, true},
		{"lower-case signature", g5url, with("signature", strings.ToLower(g5.Get("signature"))), true},
		{"message changed", g5url, with("message", "Order Refunded"), false},
		{"no signature", g5url, with("signature", ""), false},
		{"other URL", "https://evil.example/ksher/webhook", g5, false},
	}
	for _, tt := range viptests {
		t.Run("vip "+tt.name, func(t *testing.T) {
			n, err := cv.Notifications.ParseVIP(tt.url, tt.query)
			if !tt.ok {
				if errKind(err) != gateway.KindBadSignature {
					t.Errorf("err = %v, want KindBadSignature", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n.Status != gateway.StatusPaid || n.MerchantOrderID != "mc_20240101_0001" || n.Type != "Order" || n.Code != "StatusChange" {
				t.Errorf("notification = %+v", n)
			}
			// A replay key: either case as sent is vip's upper case.
			if n.Signature != strings.ToUpper(g5.Get("signature")) {
				t.Errorf("signature = %q, want %q", n.Signature, strings.ToUpper(g5.Get("signature")))
			}
		})
	}
	if _, err := c3.Notifications.ParseVIP(g5url, g5); errKind(err) != gateway.KindUnsupported {
		t.Errorf("v3 ParseVIP err = %v, want KindUnsupported", err)
	}
	if _, err := cv.Notifications.ParseV3(signed(payment)); errKind(err) != gateway.KindUnsupported {
		t.Errorf("vip ParseV3 err = %v, want KindUnsupported", err)
	}
}

// A caller that owns the retrying (the refund sender) sends each call once
// under WithoutRetries, and reads from the error whether Ksher asked for
// the same request again (a v3 envelope code != 0) or not.
func TestWithoutRetriesSendsOnce(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name      string
		reply     v3Reply
		kind      gateway.ErrorKind
		sendAgain bool
	}{
		{"code != 0: send again", v3Reply{Code: 1, Msg: "busy"}, gateway.KindAPI, true},
		{"503", v3Reply{Status: http.StatusServiceUnavailable}, gateway.KindTransport, false},
		{"result FAIL", v3Reply{Data: map[string]any{"result": "FAIL", "err_code": "KSHER_REFUND_AMOUNT_EXCEEDED", "err_msg": "x"}}, gateway.KindAPI, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := newV3Server(t, func(string, url.Values, int) v3Reply { return tt.reply })
			c, err := gateway.New(gateway.Config{Kind: gateway.APIV3, KsherPublicKey: MustPublicKey(t, "ksim_pub_spki.pem"),
				Credentials: map[string]gateway.Credentials{testMid: {AppID: testMid, PrivateKey: MustPrivateKey(t, "mch_priv_pkcs1.pem")}}},
				gateway.WithBaseURL(srv.srv.URL), gateway.WithLogger(discardLogger()), gateway.WithMaxRetries(5), gateway.WithNoSleep())
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Refunds.Create(gateway.WithoutRetries(ctx), &gateway.RefundCreateParams{MerchantOrderID: gateway.String("O1"), RefundID: "R1", Amount: 1, OrderAmount: 1})
			var ge *gateway.Error
			if !errors.As(err, &ge) || ge.Kind != tt.kind || ge.SendAgain != tt.sendAgain {
				t.Fatalf("err = %#v, want kind %s, SendAgain %v", err, tt.kind, tt.sendAgain)
			}
			if n := srv.Count("order_refund"); n != 1 {
				t.Errorf("requests = %d, want 1", n)
			}
		})
	}
}
