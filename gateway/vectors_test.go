package gateway_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/gateway"
)

// The tests below replay the signed vectors of testdata/ksher through the
// client: the fake server answers with the vector body verbatim, the client
// must accept it (and reject it with one byte changed).

type vectors struct {
	V3 []struct {
		Name   string         `json:"name"`
		Params map[string]any `json:"params"`
		Body   map[string]any `json:"body"`
	} `json:"v3"`
	Gateway []struct {
		Name      string         `json:"name"`
		Token     string         `json:"token"`
		Path      string         `json:"path"`
		Params    map[string]any `json:"params"`
		Signature string         `json:"signature"`
	} `json:"gateway"`
	PublicSamples []struct {
		Name string         `json:"name"`
		Data map[string]any `json:"data"`
		Sign string         `json:"sign"`
	} `json:"public_samples"`
}

type extras struct {
	V3Responses []struct {
		Name      string         `json:"name"`
		Operation string         `json:"operation"`
		Body      map[string]any `json:"body"`
	} `json:"v3_responses"`
	VIPResponses []struct {
		Token string         `json:"token"`
		Path  string         `json:"path"`
		Body  map[string]any `json:"body"`
	} `json:"vip_responses"`
}

// replayV3 runs call against a server answering raw, with the client's
// nonce fixed to nonce; ksherKey nil = the embedded Ksher V1 key.
func replayV3(t *testing.T, raw []byte, nonce string, defaultKey bool, call func(c *gateway.Client) error) (*v3Server, error) {
	t.Helper()
	srv := newV3Server(t, func(string, url.Values, int) v3Reply { return v3Reply{Raw: raw} })
	var c *gateway.Client
	if defaultKey {
		cfg := gateway.Config{Kind: gateway.APIV3,
			Credentials: map[string]gateway.Credentials{testMid: {AppID: testMid, PrivateKey: MustPrivateKey(t, "mch_priv_pkcs1.pem")}}}
		var err error
		c, err = gateway.New(cfg, gateway.WithBaseURL(srv.srv.URL), gateway.WithNoSleep(), gateway.WithLogger(discardLogger()),
			gateway.WithHTTPClient(&http.Client{Timeout: 2 * time.Second}))
		if err != nil {
			t.Fatal(err)
		}
	} else {
		c = newV3Client(t, srv, newClock())
	}
	gateway.SetNonce(c, func() string { return nonce })
	return srv, call(c)
}

func TestReplayV3Vectors(t *testing.T) {
	var v vectors
	MustLoadJSON(t, "vectors.json", &v)
	ctx := context.Background()
	var n int
	for _, vec := range v.V3 {
		if vec.Body == nil {
			continue
		}
		n++
		data := vec.Body["data"].(map[string]any)
		raw := MustJSON(t, vec.Body)
		nonce := data["nonce_str"].(string)
		var call func(c *gateway.Client) error
		var check func(t *testing.T)
		switch {
		case data["refund_orders"] != nil: // V5
			var got *gateway.Refund
			call = func(c *gateway.Client) (err error) {
				got, err = c.Refunds.Get(ctx, &gateway.RefundGetParams{MerchantOrderID: gateway.String("ORD-20240101-0001"), RefundID: "RF-0001"})
				return err
			}
			check = func(t *testing.T) {
				if got.Amount != 40 || got.RefundedTotal != 40 || got.OrderAmount != 100 || got.Status != gateway.StatusRefunded ||
					got.OrderStatus != gateway.StatusPartiallyRefunded || got.KsherRefundID != "70020240101130000000001" || !bytes.Equal(got.Raw, raw) {
					t.Errorf("refund = %+v", got)
				}
			}
		default: // V4
			var got *gateway.Order
			call = func(c *gateway.Client) (err error) {
				got, err = c.Orders.Get(ctx, &gateway.OrderGetParams{MerchantOrderID: gateway.String("ORD-20240101-0001")})
				return err
			}
			check = func(t *testing.T) {
				if got.Status != gateway.StatusPaid || got.Amount != 100 || got.KsherOrderID != "90020240101120000000001" ||
					got.ChannelOrderID != "CH123" || got.Channel != "promptpay" || got.RawStatus != "SUCCESS" || !bytes.Equal(got.Raw, raw) {
					t.Errorf("order = %+v", got)
				}
			}
		}
		t.Run(vec.Name, func(t *testing.T) {
			_, err := replayV3(t, raw, nonce, false, call)
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			check(t)
		})
		t.Run(vec.Name+" one byte changed", func(t *testing.T) {
			tampered := flipInBody(`ORD-20240101-0001"`)(raw)
			srv, err := replayV3(t, tampered, nonce, false, call)
			if errKind(err) != gateway.KindBadSignature || !errors.Is(err, gateway.ErrBadSignature) {
				t.Errorf("err = %v, want KindBadSignature", err)
			}
			if c := len(srv.Requests()); c != 1 {
				t.Errorf("requests = %d, want 1 (bad signatures are not retried)", c)
			}
		})
		t.Run(vec.Name+" other request's answer", func(t *testing.T) {
			_, err := replayV3(t, raw, "another-nonce", false, call)
			if errKind(err) != gateway.KindBadSignature {
				t.Errorf("err = %v, want KindBadSignature (nonce_str mismatch)", err)
			}
		})
	}
	if n != 2 {
		t.Errorf("v3 response vectors = %d, want 2", n)
	}
}

// TestReplayKsherSignedSamples runs real Ksher-signed answers through a
// client using the embedded Ksher V1 public key.
func TestReplayKsherSignedSamples(t *testing.T) {
	var v vectors
	MustLoadJSON(t, "vectors.json", &v)
	var e extras
	MustLoadJSON(t, "extra_samples.json", &e)
	ctx := context.Background()
	envelope := func(data map[string]any, sign string) []byte {
		return MustJSON(t, map[string]any{"code": 0, "msg": "ok", "data": data, "sign": sign})
	}
	type sample struct {
		name  string
		raw   []byte
		nonce string
		call  func(c *gateway.Client) (any, error)
		check func(t *testing.T, got any, err error)
	}
	var samples []sample
	for _, s := range v.PublicSamples {
		nonce, _ := s.Data["nonce_str"].(string)
		switch {
		case s.Data["result"] == "FAIL":
			samples = append(samples, sample{s.Name, envelope(s.Data, s.Sign), nonce,
				func(c *gateway.Client) (any, error) {
					return c.Orders.Get(ctx, &gateway.OrderGetParams{MerchantOrderID: gateway.String("test5")})
				},
				func(t *testing.T, _ any, err error) {
					var ge *gateway.Error
					if !errors.As(err, &ge) || ge.Kind != gateway.KindAPI || ge.Code != gateway.CodeInvalidOrderNo {
						t.Errorf("err = %v, want KindAPI %s", err, gateway.CodeInvalidOrderNo)
					}
				}})
		case s.Data["operation"] == "ORDER-QUERY":
			samples = append(samples, sample{s.Name, envelope(s.Data, s.Sign), nonce,
				func(c *gateway.Client) (any, error) {
					return c.Orders.Get(ctx, &gateway.OrderGetParams{MerchantOrderID: gateway.String("1592911660")})
				},
				func(t *testing.T, got any, err error) {
					if err != nil {
						t.Fatal(err)
					}
					o := got.(*gateway.Order)
					if o.Status != gateway.StatusPaid || o.Amount != 1 || o.PaidAmount != 7 || o.PaidCurrency != "CNY" || o.Channel != "wechat" {
						t.Errorf("order = %+v", o)
					}
				}})
		default: // order_close: no close capability; checked by ksign tests
		}
	}
	for _, s := range e.V3Responses {
		data := s.Body["data"].(map[string]any)
		nonce, _ := data["nonce_str"].(string)
		raw := MustJSON(t, s.Body)
		switch s.Operation {
		case "gateway_pay":
			samples = append(samples, sample{s.Name, raw, nonce,
				func(c *gateway.Client) (any, error) {
					return c.PaymentLinks.Create(ctx, &gateway.PaymentLinkCreateParams{MerchantOrderID: "o1", Amount: 100, Channels: []string{"promptpay"},
						RedirectURL: "https://a.example/ok", FailRedirectURL: "https://a.example/fail"})
				},
				func(t *testing.T, got any, err error) {
					if err != nil {
						t.Fatal(err)
					}
					if l := got.(*gateway.PaymentLink); l.URL != "https://gateway.ksher.com/ua?order_uuid=f624f098b8d111edacef525400962f26&lang=en" {
						t.Errorf("URL = %q", l.URL)
					}
				}})
		case "gateway_order_query":
			samples = append(samples, sample{s.Name, raw, nonce,
				func(c *gateway.Client) (any, error) {
					return c.PaymentLinks.Get(ctx, &gateway.PaymentLinkGetParams{MerchantOrderID: "2023-02-22-17-11-00"})
				},
				func(t *testing.T, got any, err error) {
					if err != nil {
						t.Fatal(err)
					}
					if l := got.(*gateway.PaymentLink); l.Status != gateway.StatusPending || l.PayOrderID != "2303031613445796" || l.Amount != 100 {
						t.Errorf("link = %+v", l)
					}
				}})
		case "merchant_info":
			samples = append(samples, sample{s.Name, raw, nonce,
				func(c *gateway.Client) (any, error) { return c.Merchant.Info(ctx, &gateway.MerchantInfoParams{}) },
				func(t *testing.T, got any, err error) {
					if err != nil {
						t.Fatal(err)
					}
					m := got.(*gateway.MerchantInfo)
					if m.MerchantID != "29217" || m.AccountType != "Formal" || m.Test || !m.AllowPartialRefund || len(m.Channels) != 2 || m.Name != "MINOR_en" {
						t.Errorf("merchant = %+v", m)
					}
				}})
		case "get_settlement_info":
			samples = append(samples, sample{s.Name, raw, nonce,
				func(c *gateway.Client) (any, error) {
					return collect(c.Settlements.List(ctx, &gateway.SettlementListParams{
						From: time.Date(2020, 7, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2020, 9, 10, 0, 0, 0, 0, time.UTC)}))
				},
				func(t *testing.T, got any, err error) {
					if err != nil {
						t.Fatal(err)
					}
					rows := got.([]*gateway.Settlement)
					if len(rows) != 3 || rows[2].Amount != -2939 || rows[2].Fee != -57 || rows[2].VAT != -4 || !rows[0].SettlementDate.Equal(time.Date(2020, 8, 19, 0, 0, 0, 0, time.UTC)) {
						t.Errorf("settlements = %+v", rows)
					}
				}})
		}
	}
	if len(samples) != 6 {
		t.Errorf("samples = %d, want 6", len(samples))
	}
	for _, s := range samples {
		t.Run(s.name, func(t *testing.T) {
			var got any
			_, err := replayV3(t, s.raw, s.nonce, true, func(c *gateway.Client) (err error) {
				got, err = s.call(c)
				return err
			})
			s.check(t, got, err)
		})
	}
}

func TestReplayVIPVectors(t *testing.T) {
	var v vectors
	MustLoadJSON(t, "vectors.json", &v)
	var e extras
	MustLoadJSON(t, "extra_samples.json", &e)
	ctx := context.Background()

	// G6: a server-style query answer with booleans and log_entry_url, for G2's path.
	var g6 map[string]any
	var g6sig string
	for _, g := range v.Gateway {
		if g.Name == "query response with booleans (server style)" {
			g6, g6sig = g.Params, g.Signature
		}
	}
	if g6 == nil {
		t.Fatal("G6 not found")
	}
	body := map[string]any{}
	for k, v := range g6 {
		body[k] = v
	}
	body["signature"] = g6sig
	raw := MustJSON(t, body)
	for _, tc := range []struct {
		name   string
		raw    []byte
		wantOK bool
	}{{"G6", raw, true}, {"G6 one byte changed", flipInBody(`two items"`)(raw), false}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newVIPServer(t, "", func(vipReq, int) vipReply { return vipReply{Raw: tc.raw} })
			c := newVIPClient(t, srv, newClock(), nil) // clock = the vector's timestamp 1704110460
			o, err := c.Orders.Get(ctx, &gateway.OrderGetParams{MerchantOrderID: gateway.String("mc_20240101_0001")})
			if !tc.wantOK {
				if errKind(err) != gateway.KindBadSignature {
					t.Errorf("err = %v, want KindBadSignature", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.Status != gateway.StatusPaid || o.Amount != 15050 || o.KsherOrderID != "90020240101120000000001" || o.Mid != "" {
				t.Errorf("order = %+v", o)
			}
		})
	}

	// G7: the real dev.vip.ksher.net refund answer, with Ksher's published dev token.
	g7 := e.VIPResponses[0]
	raw7 := MustJSON(t, g7.Body)
	srv := newVIPServer(t, "", func(vipReq, int) vipReply { return vipReply{Raw: raw7} })
	srv.token = g7.Token
	clk := &fakeClock{now: time.Unix(1626835729, 0)}
	c := newVIPClient(t, srv, clk, nil)
	rf, err := c.Refunds.Create(ctx, &gateway.RefundCreateParams{MerchantOrderID: gateway.String("mc_1626835648"), RefundID: "mr_1626835728", Amount: 100})
	if err != nil {
		t.Fatalf("G7: %v", err)
	}
	if rf.Status != gateway.StatusRefunded || rf.Amount != 100 || rf.MerchantOrderID != "mc_1626835648" || rf.KsherOrderID != "90020210721104935321056" || rf.RawCode != "REFUNDED" {
		t.Errorf("G7 refund = %+v", rf)
	}
}
