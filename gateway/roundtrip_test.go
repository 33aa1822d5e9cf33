package gateway_test

import (
	"context"
	"crypto/rsa"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/gateway"
	"github.com/ksherdash/ksherdash/gateway/ksign"
	"github.com/ksherdash/ksherdash/gateway/sandbox"
)

// Round trips between the client and gateway/sandbox, mounted under
// /sandbox behind a real HTTP server, for both Ksher APIs.

var bangkok = gateway.ICT

type roundtrip struct {
	sb    *sandbox.Sandbox
	base  string
	clk   *fakeClock
	v3    *gateway.Client
	vip   *gateway.Client
	hook  string // notification receiver base URL
	mu    sync.Mutex
	notes []*gateway.Notification
	bad   []error
}

func newRoundtrip(t *testing.T, opts ...gateway.Option) *roundtrip {
	t.Helper()
	rt := &roundtrip{clk: &fakeClock{now: time.Date(2024, 3, 5, 10, 0, 0, 0, bangkok)}}
	sb, err := sandbox.New(sandbox.Config{
		AppIDs:      map[string]*rsa.PublicKey{testMid: MustPublicKey(t, "mch_pub_pkcs1.pem")},
		KsherKey:    MustPrivateKey(t, "ksim_priv_pkcs1.pem"),
		Token:       vipToken,
		Mids:        []string{vipMidID},
		SpeedFactor: 0.001,
		Now:         rt.clk.Now,
		Logger:      discardLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	rt.sb = sb
	mux := http.NewServeMux()
	mux.Handle("/sandbox/", http.StripPrefix("/sandbox", sb))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	rt.base = srv.URL + "/sandbox"

	pub, err := ksign.ParsePublicKey(sb.KsherPublicKeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	common := []gateway.Option{
		gateway.WithBaseURL(rt.base),
		gateway.WithHTTPClient(&http.Client{Timeout: 2 * time.Second}),
		gateway.WithClock(rt.clk.Now),
		gateway.WithLogger(discardLogger()),
	}
	rt.v3, err = gateway.New(gateway.Config{Kind: gateway.APIV3, Account: "rt-v3", KsherPublicKey: pub,
		Credentials: map[string]gateway.Credentials{testMid: {AppID: testMid, PrivateKey: MustPrivateKey(t, "mch_priv_pkcs1.pem")}}},
		append(common, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	rt.vip, err = gateway.New(gateway.Config{Kind: gateway.APIVIP, Account: "rt-vip", Token: vipToken, Mids: []string{vipMidID}},
		append(common, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*gateway.Client{rt.v3, rt.vip} {
		gateway.RecordSleeps(c, rt.clk.Advance)
	}

	// Notification receiver: v3 POSTs to /v3, vip webhooks GET /ksher/webhook.
	var hook *httptest.Server
	hook = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n *gateway.Notification
		var err error
		if r.URL.Path == "/v3" {
			body, _ := io.ReadAll(r.Body)
			n, err = rt.v3.Notifications.ParseV3(body)
		} else {
			n, err = rt.vip.Notifications.ParseVIP(hook.URL+r.URL.Path, r.URL.Query())
		}
		rt.mu.Lock()
		defer rt.mu.Unlock()
		if err != nil {
			rt.bad = append(rt.bad, err)
			http.Error(w, "bad signature", http.StatusBadRequest)
			return
		}
		rt.notes = append(rt.notes, n)
		w.Write(gateway.V3NotificationAck)
	}))
	t.Cleanup(hook.Close)
	rt.hook = hook.URL
	sb.SetWebhookURL(hook.URL + "/ksher/webhook")
	return rt
}

// tick moves the shared clock past Ksher's 10-second query interval.
func (rt *roundtrip) tick() { rt.clk.Advance(gateway.QueryInterval + time.Second) }

// waitNote waits for a verified notification about order id.
func (rt *roundtrip) waitNote(t *testing.T, api gateway.APIKind, id string) *gateway.Notification {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		rt.mu.Lock()
		for _, err := range rt.bad {
			t.Errorf("notification rejected: %v", err)
		}
		rt.bad = nil
		for _, n := range rt.notes {
			if n.API == api && (n.MerchantOrderID == id || n.PayOrderID == id) {
				rt.mu.Unlock()
				return n
			}
		}
		rt.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no %s notification for %s", api, id)
	return nil
}

// must turns (v, err) into a function that fails the test on err:
// must(c.Orders.Get(ctx, p))(t).
func must[T any](v T, err error) func(testing.TB) T {
	return func(tb testing.TB) T {
		tb.Helper()
		if err != nil {
			tb.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

func TestRoundTripV3(t *testing.T) {
	rt := newRoundtrip(t)
	c, ctx := rt.v3, context.Background()

	// Payment link: create, pending, paid by the payer, notified.
	link := must(c.PaymentLinks.Create(ctx, &gateway.PaymentLinkCreateParams{MerchantOrderID: "RT-LINK-1", Amount: 10000,
		Channels: []string{"truemoney", "promptpay"}, RedirectURL: "https://shop.example.com/ok", FailRedirectURL: "https://shop.example.com/fail",
		NotifyURL: gateway.String(rt.hook + "/v3"), ProductName: gateway.String("Round trip")}))(t)
	if !strings.Contains(link.URL, "order_uuid=") || link.Status != gateway.StatusPending {
		t.Errorf("created link = %+v", link)
	}
	if got := must(c.PaymentLinks.Get(ctx, &gateway.PaymentLinkGetParams{MerchantOrderID: "RT-LINK-1"}))(t); got.Status != gateway.StatusPending || got.Amount != 10000 {
		t.Errorf("unpaid link = %+v", got)
	}
	if err := rt.sb.Pay("RT-LINK-1", "truemoney"); err != nil {
		t.Fatal(err)
	}
	rt.tick()
	paid := must(c.PaymentLinks.Get(ctx, &gateway.PaymentLinkGetParams{MerchantOrderID: "RT-LINK-1"}))(t)
	if paid.Status != gateway.StatusPaid || paid.PayOrderID == "" || paid.KsherOrderID == "" || paid.Channel != "truemoney" {
		t.Fatalf("paid link = %+v", paid)
	}
	if n := rt.waitNote(t, gateway.APIV3, "RT-LINK-1"); n.Status != gateway.StatusPaid || n.Amount != 10000 || n.Mid != testMid {
		t.Errorf("notification = %+v", n)
	}

	// The KsherPay order behind the link, by each of its ids.
	for _, p := range []*gateway.OrderGetParams{
		{MerchantOrderID: gateway.String(paid.PayOrderID)},
		{KsherOrderID: gateway.String(paid.KsherOrderID)},
	} {
		o := must(c.Orders.Get(ctx, p))(t)
		if o.Status != gateway.StatusPaid || o.Amount != 10000 || o.Channel != "truemoney" {
			t.Errorf("order = %+v", o)
		}
	}

	// Partial refund of the underlying order, then its status.
	rf := must(c.Refunds.Create(ctx, &gateway.RefundCreateParams{MerchantOrderID: gateway.String(paid.PayOrderID), RefundID: "RT-RF-1",
		Amount: 4000, OrderAmount: 10000, Channel: gateway.String("truemoney")}))(t)
	if rf.Status != gateway.StatusRefunded || rf.Amount != 4000 || rf.KsherRefundID == "" {
		t.Errorf("refund = %+v", rf)
	}
	rg := must(c.Refunds.Get(ctx, &gateway.RefundGetParams{MerchantOrderID: gateway.String(paid.PayOrderID), RefundID: "RT-RF-1"}))(t)
	if rg.Status != gateway.StatusRefunded || rg.Amount != 4000 || rg.RefundedTotal != 4000 || rg.OrderStatus != gateway.StatusPartiallyRefunded {
		t.Errorf("refund query = %+v", rg)
	}
	rt.tick()
	if o := must(c.Orders.Get(ctx, &gateway.OrderGetParams{MerchantOrderID: gateway.String(paid.PayOrderID)}))(t); o.Status != gateway.StatusRefunded {
		t.Errorf("refunded order status = %v (%s)", o.Status, o.RawStatus)
	}

	// Cancel an unpaid link.
	must(c.PaymentLinks.Create(ctx, &gateway.PaymentLinkCreateParams{MerchantOrderID: "RT-LINK-2", Amount: 5000,
		Channels: []string{"promptpay"}, RedirectURL: "https://shop.example.com/ok", FailRedirectURL: "https://shop.example.com/fail"}))(t)
	if l := must(c.PaymentLinks.Cancel(ctx, &gateway.PaymentLinkCancelParams{MerchantOrderID: "RT-LINK-2"}))(t); l.Status != gateway.StatusClosed {
		t.Errorf("cancelled link = %+v", l)
	}
	if l := must(c.PaymentLinks.Get(ctx, &gateway.PaymentLinkGetParams{MerchantOrderID: "RT-LINK-2"}))(t); l.Status != gateway.StatusClosed {
		t.Errorf("cancelled link query = %v (%s)", l.Status, l.RawStatus)
	}

	// Counter: QR paid by the payer; a charge; a NOTSURE charge reversed.
	qr := must(c.Counter.QR(ctx, &gateway.QRParams{MerchantOrderID: "RT-QR-1", Amount: 500, Channel: "promptpay"}))(t)
	if qr.Payload == "" || !strings.HasPrefix(qr.ImageDataURL, "data:image/png;base64,") || qr.Status != gateway.StatusPending {
		t.Errorf("qr = %+v", qr)
	}
	if err := rt.sb.Pay("RT-QR-1", ""); err != nil {
		t.Fatal(err)
	}
	if o := must(c.Orders.Get(ctx, &gateway.OrderGetParams{MerchantOrderID: gateway.String("RT-QR-1")}))(t); o.Status != gateway.StatusPaid ||
		!o.PaidAt.Equal(rt.clk.Now().Truncate(time.Second)) || o.PaidAt.Location() != time.UTC {
		t.Errorf("qr order = %v paid at %v, want paid at %v UTC", o.Status, o.PaidAt, rt.clk.Now().UTC())
	}

	// PromptPay's refund rule, as the client and the sandbox both read it:
	// full refunds only, and no refund_query (the order is asked instead).
	pp := gateway.RefundCreateParams{MerchantOrderID: gateway.String("RT-QR-1"), RefundID: "RT-RF-PP-1", Amount: 200, OrderAmount: 500,
		Channel: gateway.String("promptpay")}
	if _, err := c.Refunds.Create(ctx, &pp); errKind(err) != gateway.KindAPI {
		t.Errorf("partial PromptPay refund err = %v, want Ksher's refusal", err)
	}
	pp.RefundID, pp.Amount = "RT-RF-PP-2", 500
	must(c.Refunds.Create(ctx, &pp))(t)
	rt.tick()
	if rg := must(c.Refunds.Get(ctx, &gateway.RefundGetParams{MerchantOrderID: gateway.String("RT-QR-1"), RefundID: "RT-RF-PP-2",
		Channel: gateway.String("promptpay")}))(t); rg.Status != gateway.StatusUnknown || rg.OrderStatus != gateway.StatusRefunded {
		t.Errorf("PromptPay refund query = %+v, want the order refunded", rg)
	}
	if ch := must(c.Counter.Charge(ctx, &gateway.ChargeParams{MerchantOrderID: "RT-CH-1", Amount: 2500, Channel: "truemoney", AuthCode: "1234567890123456"}))(t); ch.Status != gateway.StatusPaid {
		t.Errorf("charge = %+v", ch)
	}
	ns := must(c.Counter.Charge(ctx, &gateway.ChargeParams{MerchantOrderID: "RT-CH-2", Amount: 2500, Channel: "wechat", AuthCode: "8812345678901234"}))(t)
	if ns.Status != gateway.StatusNotSure || ns.RawCode != gateway.CodePaymentInProcess {
		t.Errorf("PIN charge = %+v, want not_sure", ns)
	}
	if o := must(c.Orders.Get(ctx, &gateway.OrderGetParams{MerchantOrderID: gateway.String("RT-CH-2")}))(t); o.Status != gateway.StatusNotSure {
		t.Errorf("PIN order = %v (%s), want not_sure", o.Status, o.RawStatus)
	}
	if rv := must(c.Counter.Reverse(ctx, &gateway.ReverseParams{MerchantOrderID: gateway.String("RT-CH-2"), Channel: gateway.String("wechat")}))(t); rv.Status != gateway.StatusReversed {
		t.Errorf("reversal = %+v", rv)
	}
	_, err := c.Counter.Charge(ctx, &gateway.ChargeParams{MerchantOrderID: "RT-CH-3", Amount: 2500, Channel: "wechat", AuthCode: "9000000000"})
	if errKind(err) != gateway.KindAPI {
		t.Errorf("declined charge err = %v, want KindAPI", err)
	}

	// Merchant profile and channels.
	mi := must(c.Merchant.Info(ctx, &gateway.MerchantInfoParams{}))(t)
	if mi.AppID != testMid || len(mi.Channels) == 0 {
		t.Errorf("merchant = %+v", mi)
	}
	if cl := must(c.Channels.List(ctx, &gateway.ChannelListParams{}))(t); len(cl.Channels) != len(mi.Channels) {
		t.Errorf("channels = %d, want %d", len(cl.Channels), len(mi.Channels))
	}

	// Settlements of the last days, as the sandbox computes them.
	rt.clk.Advance(72 * time.Hour)
	today := rt.clk.Now().In(bangkok)
	from := today.AddDate(0, 0, -5)
	got := must(collect(c.Settlements.List(ctx, &gateway.SettlementListParams{From: from, To: today})))(t)
	want := rt.sb.Settlements(testMid, from, today)
	if len(got) != len(want) || len(got) == 0 {
		t.Fatalf("settlements = %d, want %d (> 0)", len(got), len(want))
	}
	for i := range got {
		if got[i].Channel != want[i].Channel || got[i].Fee != want[i].Fee && got[i].Fee != -want[i].Fee {
			t.Errorf("settlement %d = %+v, sandbox %+v", i, got[i], want[i])
		}
	}

	// What v3 cannot do.
	if _, err := collect(c.Transactions.List(ctx, &gateway.TransactionListParams{Date: today})); errKind(err) != gateway.KindUnsupported {
		t.Errorf("transactions err = %v, want KindUnsupported", err)
	}
	if _, err := collect(c.Settlements.Orders(ctx, &gateway.SettlementOrdersParams{ReferenceID: "x"})); errKind(err) != gateway.KindUnsupported {
		t.Errorf("settlement orders err = %v, want KindUnsupported", err)
	}
}

func TestRoundTripVIP(t *testing.T) {
	rt := newRoundtrip(t)
	c, ctx := rt.vip, context.Background()

	link := must(c.PaymentLinks.Create(ctx, &gateway.PaymentLinkCreateParams{MerchantOrderID: "RTV-LINK-1", Amount: 10000,
		Channels: []string{"truemoney"}, RedirectURL: "https://shop.example.com/ok", FailRedirectURL: "https://shop.example.com/fail",
		Note: gateway.String("round trip")}))(t)
	if !strings.Contains(link.URL, "order_uuid=") || link.Status != gateway.StatusPending || link.GatewayOrderID == "" {
		t.Errorf("created link = %+v", link)
	}
	if got := must(c.PaymentLinks.Get(ctx, &gateway.PaymentLinkGetParams{MerchantOrderID: "RTV-LINK-1"}))(t); got.Status != gateway.StatusPending {
		t.Errorf("unpaid link = %+v", got)
	}
	if err := rt.sb.Pay("RTV-LINK-1", "truemoney"); err != nil {
		t.Fatal(err)
	}
	if n := rt.waitNote(t, gateway.APIVIP, "RTV-LINK-1"); n.Status != gateway.StatusPaid {
		t.Errorf("webhook = %+v", n)
	}
	rt.tick()
	if got := must(c.PaymentLinks.Get(ctx, &gateway.PaymentLinkGetParams{MerchantOrderID: "RTV-LINK-1"}))(t); got.Status != gateway.StatusPaid || got.Channel != "truemoney" {
		t.Errorf("paid link = %+v", got)
	}
	rt.tick()
	if o := must(c.Orders.Get(ctx, &gateway.OrderGetParams{MerchantOrderID: gateway.String("RTV-LINK-1")}))(t); o.Status != gateway.StatusPaid || o.Amount != 10000 {
		t.Errorf("order = %+v", o)
	}

	rf := must(c.Refunds.Create(ctx, &gateway.RefundCreateParams{MerchantOrderID: gateway.String("RTV-LINK-1"), RefundID: "RTV-RF-1", Amount: 4000}))(t)
	if rf.Status != gateway.StatusRefunded || rf.Amount != 4000 || rf.MerchantOrderID != "RTV-LINK-1" {
		t.Errorf("refund = %+v", rf)
	}
	if rg := must(c.Refunds.Get(ctx, &gateway.RefundGetParams{RefundID: "RTV-RF-1", MerchantOrderID: gateway.String("RTV-LINK-1")}))(t); rg.Status != gateway.StatusRefunded || rg.Amount != 4000 {
		t.Errorf("refund query = %+v", rg)
	}
	rt.tick()
	if o := must(c.Orders.Get(ctx, &gateway.OrderGetParams{MerchantOrderID: gateway.String("RTV-LINK-1")}))(t); o.Status != gateway.StatusRefunded {
		t.Errorf("refunded order = %v", o.Status)
	}
	if n := rt.waitNote(t, gateway.APIVIP, "RTV-LINK-1"); n == nil {
		t.Error("no webhook")
	}

	must(c.PaymentLinks.Create(ctx, &gateway.PaymentLinkCreateParams{MerchantOrderID: "RTV-LINK-2", Amount: 5000,
		RedirectURL: "https://shop.example.com/ok", FailRedirectURL: "https://shop.example.com/fail"}))(t)
	if l := must(c.PaymentLinks.Cancel(ctx, &gateway.PaymentLinkCancelParams{MerchantOrderID: "RTV-LINK-2"}))(t); l.Status != gateway.StatusClosed {
		t.Errorf("cancelled link = %+v", l)
	}

	qr := must(c.Counter.QR(ctx, &gateway.QRParams{MerchantOrderID: "RTV-QR-1", Amount: 500, Channel: "promptpay"}))(t)
	if !strings.HasPrefix(qr.ImageDataURL, "data:image/png;base64,") || qr.Status != gateway.StatusPending {
		t.Errorf("qr = %+v", qr)
	}
	if err := rt.sb.Pay("RTV-QR-1", ""); err != nil {
		t.Fatal(err)
	}
	if o := must(c.Orders.Get(ctx, &gateway.OrderGetParams{MerchantOrderID: gateway.String("RTV-QR-1"), Type: gateway.OrderTypeCScanB}))(t); o.Status != gateway.StatusPaid {
		t.Errorf("qr order = %v", o.Status)
	}
	if ch := must(c.Counter.Charge(ctx, &gateway.ChargeParams{MerchantOrderID: "RTV-CH-1", Amount: 2500, Channel: "truemoney", AuthCode: "1234567890"}))(t); ch.Status != gateway.StatusPaid {
		t.Errorf("charge = %+v", ch)
	}
	if _, err := c.Counter.Charge(ctx, &gateway.ChargeParams{MerchantOrderID: "RTV-CH-2", Amount: 2500, Channel: "truemoney", AuthCode: "9000000"}); errKind(err) != gateway.KindAPI {
		t.Errorf("declined charge err = %v, want KindAPI", err)
	}
	if _, err := c.Counter.Reverse(ctx, &gateway.ReverseParams{MerchantOrderID: gateway.String("RTV-CH-1")}); errKind(err) != gateway.KindUnsupported {
		t.Errorf("reverse err = %v, want KindUnsupported", err)
	}
	if _, err := c.Merchant.Info(ctx, &gateway.MerchantInfoParams{}); errKind(err) != gateway.KindUnsupported {
		t.Errorf("merchant info err = %v, want KindUnsupported", err)
	}

	// Finance reports: channels; the day's transactions (paginated); three
	// days later, that day's settlement and the orders inside it.
	if cl := must(c.Channels.List(ctx, &gateway.ChannelListParams{}))(t); len(cl.Channels) == 0 {
		t.Errorf("no channels")
	}
	day := rt.clk.Now().In(bangkok)
	txs := must(collect(c.Transactions.List(ctx, &gateway.TransactionListParams{Date: day, PageSize: 2})))(t)
	var sum int64
	ids := map[string]bool{}
	for _, tx := range txs {
		sum += tx.Amount
		ids[tx.MerchantOrderID] = true
	}
	if !ids["RTV-LINK-1"] || !ids["RTV-QR-1"] || !ids["RTV-CH-1"] || sum != 10000-4000+500+2500 {
		t.Errorf("transactions = %d rows, sum %d, ids %v", len(txs), sum, ids)
	}
	rt.clk.Advance(72 * time.Hour)
	sets := must(collect(c.Settlements.List(ctx, &gateway.SettlementListParams{From: day, To: day, Channels: []string{"truemoney"}})))(t)
	if len(sets) != 1 || sets[0].ReferenceID == "" || sets[0].Channel != "truemoney" {
		t.Fatalf("settlements = %+v", sets)
	}
	want := rt.sb.Settlements(vipMidID, day, day)
	for _, w := range want {
		if w.Channel == "truemoney" && (w.Net != sets[0].Net || w.Fee != sets[0].Fee || w.ReferenceID != sets[0].ReferenceID) {
			t.Errorf("settlement = %+v, sandbox %+v", sets[0], w)
		}
	}
	orders := must(collect(c.Settlements.Orders(ctx, &gateway.SettlementOrdersParams{ReferenceID: sets[0].ReferenceID})))(t)
	if len(orders) == 0 {
		t.Errorf("no orders in settlement %s", sets[0].ReferenceID)
	}
	for _, o := range orders {
		if o.Channel != "truemoney" {
			t.Errorf("settlement order on channel %q", o.Channel)
		}
	}
	if all := must(collect(c.Settlements.List(ctx, &gateway.SettlementListParams{From: day, To: day})))(t); len(all) == 0 {
		t.Errorf("settlements over all channels = 0")
	}
}

// TestRoundTripFaults injects each sandbox fault and checks the typed error
// and, with the sandbox's call counters, that nothing that must not be
// retried was retried.
func TestRoundTripFaults(t *testing.T) {
	ctx := context.Background()
	rt := newRoundtrip(t, gateway.WithHTTPClient(&http.Client{Timeout: 300 * time.Millisecond}))
	v3, vip := rt.v3, rt.vip

	// Orders to query.
	must(v3.Counter.Charge(ctx, &gateway.ChargeParams{MerchantOrderID: "F-V3-1", Amount: 10000, Channel: "truemoney", AuthCode: "1234567890"}))(t)
	must(vip.Counter.Charge(ctx, &gateway.ChargeParams{MerchantOrderID: "F-VIP-1", Amount: 10000, Channel: "truemoney", AuthCode: "1234567890"}))(t)
	v3Get := func() error {
		rt.tick()
		_, err := v3.Orders.Get(ctx, &gateway.OrderGetParams{MerchantOrderID: gateway.String("F-V3-1")})
		return err
	}
	vipGet := func() error {
		rt.tick()
		_, err := vip.Orders.Get(ctx, &gateway.OrderGetParams{MerchantOrderID: gateway.String("F-VIP-1"), Type: gateway.OrderTypeBScanC})
		return err
	}
	n := 0
	next := func(prefix string) string { n++; return prefix + "-" + string(rune('A'+n)) }

	tests := []struct {
		name      string
		fault     sandbox.Fault
		call      func() error
		op        string
		wantKind  gateway.ErrorKind // "" = success
		wantCalls int
		after     func(t *testing.T)
	}{
		{"latency below the timeout", sandbox.Fault{Op: "order_query", Kind: sandbox.FaultLatency, LatencyMS: 100, Next: 1},
			v3Get, "order_query", "", 1, nil},
		{"v3 read timeout retried", sandbox.Fault{Op: "order_query", Kind: sandbox.FaultTimeout, LatencyMS: 1000, Next: 1},
			v3Get, "order_query", "", 2, nil},
		{"v3 create timeout not retried", sandbox.Fault{Op: "native_pay", Kind: sandbox.FaultTimeout, LatencyMS: 1000},
			func() error {
				_, err := v3.Counter.QR(ctx, &gateway.QRParams{MerchantOrderID: next("F-QR"), Amount: 500, Channel: "promptpay"})
				return err
			}, "native_pay", gateway.KindTimeout, 1, nil},
		{"vip create timeout not retried", sandbox.Fault{Op: "vip.redirect.create", Kind: sandbox.FaultTimeout, LatencyMS: 1000},
			func() error {
				_, err := vip.PaymentLinks.Create(ctx, &gateway.PaymentLinkCreateParams{MerchantOrderID: next("F-VL"), Amount: 500, RedirectURL: "https://a.example/ok", FailRedirectURL: "https://a.example/f"})
				return err
			}, "vip.redirect.create", gateway.KindTimeout, 1, nil},
		{"v3 502 on a read retried", sandbox.Fault{Op: "order_query", Kind: sandbox.Fault5xx, Status: 502, Next: 2},
			v3Get, "order_query", "", 3, nil},
		{"v3 500 on a read not retried", sandbox.Fault{Op: "order_query", Kind: sandbox.Fault5xx, Status: 500, Next: 1},
			v3Get, "order_query", gateway.KindTransport, 1, nil},
		{"v3 502 on a charge not retried", sandbox.Fault{Op: "quick_pay", Kind: sandbox.Fault5xx, Status: 502},
			func() error {
				_, err := v3.Counter.Charge(ctx, &gateway.ChargeParams{MerchantOrderID: next("F-CH"), Amount: 500, Channel: "truemoney", AuthCode: "123"})
				return err
			}, "quick_pay", gateway.KindTransport, 1, nil},
		{"v3 refund answer lost (502 after processing): same request re-sent, one refund", sandbox.Fault{Op: "order_refund", Kind: sandbox.Fault5xx, Status: 503, Next: 1, Processed: true},
			func() error {
				_, err := v3.Refunds.Create(ctx, &gateway.RefundCreateParams{MerchantOrderID: gateway.String("F-V3-1"), RefundID: "F-RF-1", Amount: 1000, OrderAmount: 10000})
				return err
			}, "order_refund", "", 2, func(t *testing.T) {
				rg := must(v3.Refunds.Get(ctx, &gateway.RefundGetParams{MerchantOrderID: gateway.String("F-V3-1"), RefundID: "F-RF-1"}))(t)
				if rg.RefundedTotal != 1000 {
					t.Errorf("refunded total = %d, want 1000 (refunded once)", rg.RefundedTotal)
				}
			}},
		{"vip refund answer lost (timeout after processing): same request re-sent, one refund", sandbox.Fault{Op: "vip.bscanc.refund", Kind: sandbox.FaultTimeout, LatencyMS: 1000, Next: 1, Processed: true},
			func() error {
				_, err := vip.Refunds.Create(ctx, &gateway.RefundCreateParams{MerchantOrderID: gateway.String("F-VIP-1"), RefundID: "F-VRF-1", Amount: 1000, Type: gateway.OrderTypeBScanC})
				return err
			}, "vip.bscanc.refund", "", 2, func(t *testing.T) {
				var refunds int
				for _, o := range rt.sb.Orders() {
					if o.MchOrderNo == "F-VIP-1" {
						refunds = len(o.Refunds)
					}
				}
				if refunds != 1 {
					t.Errorf("refunds of F-VIP-1 = %d, want 1", refunds)
				}
			}},
		{"v3 malformed read retried", sandbox.Fault{Op: "order_query", Kind: sandbox.FaultMalformed, Next: 1},
			v3Get, "order_query", "", 2, nil},
		{"v3 malformed create not retried (but carried out)", sandbox.Fault{Op: "native_pay", Kind: sandbox.FaultMalformed, Next: 1},
			func() error {
				_, err := v3.Counter.QR(ctx, &gateway.QRParams{MerchantOrderID: "F-QR-M", Amount: 500, Channel: "promptpay"})
				return err
			}, "native_pay", gateway.KindTransport, 1, func(t *testing.T) {
				// After an unknown outcome: query, do not create again.
				if o := must(v3.Orders.Get(ctx, &gateway.OrderGetParams{MerchantOrderID: gateway.String("F-QR-M")}))(t); o.Status != gateway.StatusPending && o.Status != gateway.StatusNotSure {
					t.Errorf("order after malformed create = %v", o.Status)
				}
			}},
		{"vip malformed read retried", sandbox.Fault{Op: "vip.bscanc.query", Kind: sandbox.FaultMalformed, Next: 1},
			vipGet, "vip.bscanc.query", "", 2, nil},
		{"v3 bad response signature", sandbox.Fault{Op: "order_query", Kind: sandbox.FaultBadSignature, Next: 1},
			v3Get, "order_query", gateway.KindBadSignature, 1, nil},
		{"v3 bad signature on a refund not retried", sandbox.Fault{Op: "order_refund", Kind: sandbox.FaultBadSignature, Next: 1},
			func() error {
				_, err := v3.Refunds.Create(ctx, &gateway.RefundCreateParams{MerchantOrderID: gateway.String("F-V3-1"), RefundID: "F-RF-2", Amount: 1000, OrderAmount: 10000})
				return err
			}, "order_refund", gateway.KindBadSignature, 1, nil},
		{"vip bad response signature", sandbox.Fault{Op: "vip.bscanc.query", Kind: sandbox.FaultBadSignature, Next: 1},
			vipGet, "vip.bscanc.query", gateway.KindBadSignature, 1, nil},
		{"v3 rate limit", sandbox.Fault{Op: "order_query", Kind: sandbox.FaultRateLimit, Next: 1},
			v3Get, "order_query", gateway.KindRateLimited, 1, nil},
		{"vip rate limit (429)", sandbox.Fault{Op: "vip.bscanc.query", Kind: sandbox.FaultRateLimit, Next: 1},
			vipGet, "vip.bscanc.query", gateway.KindRateLimited, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt.sb.ClearFaults()
			rt.sb.ResetCalls()
			if _, err := rt.sb.AddFault(tt.fault); err != nil {
				t.Fatal(err)
			}
			err := tt.call()
			if got := errKind(err); got != tt.wantKind {
				t.Errorf("error kind = %q (%v), want %q", got, err, tt.wantKind)
			}
			if tt.wantKind == gateway.KindBadSignature && !strings.Contains(err.Error(), "bad_signature") {
				t.Errorf("error = %v", err)
			}
			if got := rt.sb.Calls(tt.op); got != tt.wantCalls {
				t.Errorf("sandbox calls of %s = %d, want %d", tt.op, got, tt.wantCalls)
			}
			rt.sb.ClearFaults()
			if tt.after != nil {
				tt.after(t)
			}
		})
	}
}
