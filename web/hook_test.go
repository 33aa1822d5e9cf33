package web

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/gateway"
	"github.com/ksherdash/ksherdash/gateway/ksign"
	"github.com/ksherdash/ksherdash/gateway/sandbox"
	"github.com/ksherdash/ksherdash/migrations"
	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/models/pgtest"
)

// The notification receivers over real HTTP: the built-in sandbox (a
// separate server, like Ksher) pays orders and delivers its signed
// notifications to the app, and hand-built notifications are signed with the
// test keys of testdata/ksher/keys.

const (
	hookV3Mid  = "mch35000"
	hookVIPMid = "mch35618"
	hookToken  = "hook-test-token"
)

type hookEnv struct {
	store    *models.Store
	sb       *sandbox.Sandbox
	appURL   string // BASE_URL of the app
	v3, vip  *models.MerchantAccount
	v3c      *gateway.Client // the merchant's own clients, to create orders
	vipc     *gateway.Client
	ksherKey *rsa.PrivateKey // the (simulated) Ksher key that signs v3 notifications
	mchKey   *rsa.PrivateKey // the merchant's key: signs requests, never notifications
	env      *testEnv        // the app for in-memory page requests
	jobs     *models.Jobs    // the app's River client, started by tests that need jobs worked
}

func mustTestKey(t *testing.T, name string) *rsa.PrivateKey {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "ksher", "keys", name))
	if err != nil {
		t.Fatal(err)
	}
	k, err := ksign.ParsePrivateKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func pemPrivate(k *rsa.PrivateKey) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
}

func pemPublic(k *rsa.PublicKey) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(k)}))
}

func newHookEnv(t *testing.T) *hookEnv {
	t.Helper()
	ctx := context.Background()
	logs := &strings.Builder{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	discard := slog.New(slog.DiscardHandler)
	dsn := pgtest.NewDatabase(t)
	store, err := models.Open(ctx, dsn, discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if _, err := store.Migrate(ctx, migrations.FS); err != nil {
		t.Fatal(err)
	}
	store.SetSecretKey([]byte(strings.Repeat("x", 32)))
	e := &hookEnv{store: store, ksherKey: mustTestKey(t, "ksim_priv_pkcs1.pem"), mchKey: mustTestKey(t, "mch_priv_pkcs1.pem")}

	// Ksher: the sandbox on its own server.
	e.sb, err = sandbox.New(sandbox.Config{AppIDs: map[string]*rsa.PublicKey{hookV3Mid: &e.mchKey.PublicKey}, KsherKey: e.ksherKey,
		Token: hookToken, Mids: []string{hookVIPMid}, SpeedFactor: 0.001, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.sb.Close() })
	mux := http.NewServeMux()
	mux.Handle("/sandbox/", http.StripPrefix("/sandbox", e.sb))
	sbSrv := httptest.NewServer(mux)
	t.Cleanup(sbSrv.Close)
	sbURL := sbSrv.URL + "/sandbox"

	e.v3, err = store.SaveAccount(ctx, models.SandboxSetup(), 0, models.AccountInput{Name: "Hook v3", APIKind: models.APIv3, BaseURL: sbURL, GatewayBaseURL: sbURL,
		Sandbox: true, Mids: []models.Mid{{Mid: hookV3Mid}}, Credentials: &models.Credentials{
			PrivateKeys: map[string]string{hookV3Mid: pemPrivate(e.mchKey)}, KsherPublicKey: pemPublic(&e.ksherKey.PublicKey)}})
	if err != nil {
		t.Fatal(err)
	}
	e.vip, err = store.SaveAccount(ctx, models.SandboxSetup(), 0, models.AccountInput{Name: "Hook vip", APIKind: models.APIVIP, BaseURL: sbURL,
		Sandbox: true, Mids: []models.Mid{{Mid: hookVIPMid}}, Credentials: &models.Credentials{Token: hookToken}})
	if err != nil {
		t.Fatal(err)
	}

	// The app, listening for real: the sandbox calls it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.appURL = "http://" + ln.Addr().String()
	loc, _ := time.LoadLocation("Asia/Bangkok")
	// The program's services over one River client (not started here).
	if e.jobs, err = models.NewJobs(store, models.JobsConfig{FetchPollInterval: 50 * time.Millisecond, StopTimeout: time.Second, TestOnly: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.jobs.Stop(context.Background()) })
	orders := models.NewOrders(store, models.NewGatewayClients(store, log), log)
	syncs, err := models.NewSync(store, models.NewGatewayClients(store, nil, gateway.WithNoSleep()), e.jobs, log, models.SyncConfig{PageSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	resyncs, err := models.NewDriftResyncs(store, orders, e.jobs, log)
	if err != nil {
		t.Fatal(err)
	}
	// Refunds are sent and reconciled by the same River client.
	refunds, err := models.NewRefunds(store, orders, e.jobs, log, models.RefundsConfig{NotFoundAfter: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	app, err := New(Deps{Log: log, Store: store, Orders: orders, Sync: syncs, Resyncs: resyncs, Refunds: refunds, Config: Config{
		SecretKey: []byte(strings.Repeat("x", 32)), BaseURL: e.appURL, Sandbox: true, Location: loc,
		Sessions: models.SessionPolicy{Idle: 30 * time.Minute, Absolute: 12 * time.Hour}, Logins: models.DefaultLoginPolicy,
	}})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() {
		_ = app.ShutdownWithTimeout(5 * time.Second)
		if t.Failed() {
			t.Logf("app log:\n%s", logs.String())
		}
	})
	e.env = &testEnv{store: store, app: app, logs: logs, dsn: dsn}
	e.sb.SetWebhookURL(e.appURL + "/hooks/ksher/vip/" + strconv.FormatInt(e.vip.ID, 10))

	opts := []gateway.Option{gateway.WithLogger(discard), gateway.WithNoSleep()}
	e.v3c, err = gateway.New(gateway.Config{Kind: gateway.APIV3, BaseURL: sbURL, GatewayBaseURL: sbURL, KsherPublicKey: &e.ksherKey.PublicKey,
		Credentials: map[string]gateway.Credentials{hookV3Mid: {AppID: hookV3Mid, PrivateKey: e.mchKey}}}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	e.vipc, err = gateway.New(gateway.Config{Kind: gateway.APIVIP, BaseURL: sbURL, Token: hookToken, Mids: []string{hookVIPMid}}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *hookEnv) v3Path(id int64) string  { return "/hooks/ksher/v3/" + strconv.FormatInt(id, 10) }
func (e *hookEnv) vipPath(id int64) string { return "/hooks/ksher/vip/" + strconv.FormatInt(id, 10) }

// post sends a notification body the way Ksher does.
func (e *hookEnv) post(t *testing.T, path string, body []byte) (int, []byte) {
	t.Helper()
	resp, err := http.Post(e.appURL+path, "text/plain;charset=utf-8", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// get sends a webhook; host, when set, overrides the Host header (a proxy).
func (e *hookEnv) get(t *testing.T, pathAndQuery, host string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.appURL+pathAndQuery, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// notifications lists every stored notification, newest first.
func (e *hookEnv) notifications(t *testing.T) []models.NotificationRow {
	t.Helper()
	rows, _, err := e.store.ListNotifications(context.Background(), models.NotificationFilter{
		Mids: []string{hookV3Mid, hookVIPMid}, AccountIDs: []int64{e.v3.ID, e.vip.ID}, UnknownAccounts: true, Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func (e *hookEnv) order(t *testing.T, mid, id string) *models.Order {
	t.Helper()
	hits, err := e.store.FindOrdersByAnyID(context.Background(), []string{mid}, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) == 0 {
		return nil
	}
	return &hits[0].Order
}

// waitDelivered waits until the sandbox has delivered its notification about
// order (the app answered as Ksher expects) and returns it.
func (e *hookEnv) waitDelivered(t *testing.T, order string) sandbox.Notification {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, n := range e.sb.Notifications() {
			if n.Order == order && n.Delivered {
				return n
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the sandbox did not deliver its notification about %s: %+v", order, e.sb.Notifications())
	return sandbox.Notification{}
}

// v3Notification builds a v3 notification envelope (API.md A.6) about a
// paid gateway_pay order, signed over data with key.
func v3Notification(t *testing.T, key *rsa.PrivateKey, order string, amount int64) ([]byte, map[string]any) {
	t.Helper()
	data := map[string]any{"appid": hookV3Mid, "attach": "", "cash_fee": amount, "cash_fee_type": "THB", "channel": "truemoney",
		"channel_order_no": "TM" + order, "fee_type": "THB", "ksher_order_no": "90020260101000000" + order, "mch_order_no": order,
		"nonce_str": "n0nce" + order, "openid": "", "pay_mch_order_no": "77" + order, "rate": "1.000000", "result": "SUCCESS",
		"time_end": "2026-01-01 10:00:00", "total_fee": amount}
	sign, err := ksign.V3Sign(key, data)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]any{"code": 0, "msg": "ok", "message": "SUCCESS", "status_code": "", "status_msg": "", "sign": sign,
		"time_stamp": "2026-01-01T11:00:00.000000+08:00", "version": "3.0.0", "data": data}
	b, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return b, data
}

// vipWebhook builds the query of a vip webhook (API.md B.5) signed over
// prefix (the full webhook URL).
func vipWebhook(order, message, prefix, token string) url.Values {
	q := url.Values{"type": {"Order"}, "instance": {order}, "code": {"StatusChange"}, "message": {message}}
	fields := map[string]any{}
	for k, v := range q {
		fields[k] = v[0]
	}
	q.Set("signature", ksign.VIPSign(token, prefix, fields))
	return q
}

// flipHex changes one hex digit of s at i.
func flipHex(s string, i int) string {
	c := byte('0')
	if s[i] == '0' {
		c = '1'
	}
	return s[:i] + string(c) + s[i+1:]
}

// A v3 order paid in the sandbox: the sandbox delivers its signed
// notification to the app, which stores it with the order's new state and
// answers exactly as Ksher expects (the sandbox retries anything else). The
// same body sent again is a replay: same answer, nothing changes.
func TestHookV3NotificationFromSandbox(t *testing.T) {
	e := newHookEnv(t)
	ctx := context.Background()
	const id = "HOOK-V3-1"
	_, err := e.v3c.PaymentLinks.Create(ctx, &gateway.PaymentLinkCreateParams{Mid: hookV3Mid, MerchantOrderID: id, Amount: 12345,
		Channels: []string{"truemoney"}, RedirectURL: "https://shop.example/ok", FailRedirectURL: "https://shop.example/fail",
		NotifyURL: gateway.String(e.appURL + e.v3Path(e.v3.ID))})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sb.Pay(id, "truemoney"); err != nil {
		t.Fatal(err)
	}
	sent := e.waitDelivered(t, id)
	if len(sent.Attempts) != 1 || sent.Attempts[0].Status != http.StatusOK {
		t.Errorf("delivery attempts = %+v, want one, accepted", sent.Attempts)
	}
	o := e.order(t, hookV3Mid, id)
	if o == nil || o.Status != models.StatusPaid || o.Amount != 12345 || o.NotifiedAt == nil || o.KsherOrderNo == "" || o.Kind != models.OrderKindLink {
		t.Fatalf("order after the notification = %+v, want a paid link of 12345, notified", o)
	}
	ns := e.notifications(t)
	if len(ns) != 1 || !ns[0].Valid || !ns[0].Changed || ns[0].Replay || ns[0].OrderID == nil || *ns[0].OrderID != o.ID ||
		ns[0].Body != sent.Body || ns[0].Digest == "" || ns[0].Status != models.StatusPaid || ns[0].Method != "POST" {
		t.Fatalf("stored = %+v, want the raw body, valid, changed, linked", ns)
	}
	events, _ := e.store.OrderEvents(ctx, o.ID)

	// Ksher retries with the same body: byte-exact answer, a replay.
	status, body := e.post(t, e.v3Path(e.v3.ID), []byte(sent.Body))
	if status != http.StatusOK || !bytes.Equal(body, gateway.V3NotificationAck) || string(body) != `{"result":"SUCCESS","msg":"OK"}` {
		t.Fatalf("answer to a replay = %d %q, want 200 %s", status, body, gateway.V3NotificationAck)
	}
	after := e.order(t, hookV3Mid, id)
	if after.UpdatedAt.Sub(o.UpdatedAt).Abs() > time.Microsecond || after.Status != models.StatusPaid {
		t.Errorf("order touched by a replay: %+v", after)
	}
	if evs, _ := e.store.OrderEvents(ctx, o.ID); len(evs) != len(events) {
		t.Errorf("timeline grew on a replay: %d -> %d", len(events), len(evs))
	}
	ns = e.notifications(t)
	if len(ns) != 2 || !ns[0].Replay || ns[0].Changed || !ns[0].Valid || ns[0].Digest != ns[1].Digest {
		t.Errorf("replay stored as %+v, want a valid replay with the same digest", ns[0].Notification)
	}
}

// Forged or damaged v3 notifications are refused (a failure, so Ksher
// would send a genuine one again), stored as invalid with the reason, and
// change nothing; a genuine one, raw or URL-encoded (Ksher's PHP demo), is
// accepted with the exact acknowledgement.
func TestHookV3RejectsForgeries(t *testing.T) {
	e := newHookEnv(t)
	ctx := context.Background()
	const id = "HOOK-V3-F"
	if _, _, err := e.store.UpsertOrder(ctx, models.OrderUpdate{AccountID: e.v3.ID, Mid: hookV3Mid, MchOrderNo: id, Kind: models.OrderKindLink,
		Status: models.StatusPending, Amount: 100, Source: "link"}); err != nil {
		t.Fatal(err)
	}
	genuine, data := v3Notification(t, e.ksherKey, id, 100)
	var env map[string]any
	_ = json.Unmarshal(genuine, &env)
	sign := env["sign"].(string)

	withSign := func(s string) []byte { return bytes.Replace(genuine, []byte(sign), []byte(s), 1) }
	byMerchantKey, _ := v3Notification(t, e.mchKey, id, 100)
	otherData := map[string]any{}
	for k, v := range data {
		otherData[k] = v
	}
	otherData["appid"] = "mch99999" // signed by Ksher, but about another merchant
	otherSign, _ := ksign.V3Sign(e.ksherKey, otherData)
	otherEnv, _ := json.Marshal(map[string]any{"code": 0, "msg": "ok", "sign": otherSign, "data": otherData})

	cases := []struct {
		name   string
		path   string
		body   []byte
		status int
		reason string
	}{
		{"one hex digit of sign changed", e.v3Path(e.v3.ID), withSign(flipHex(sign, 17)), http.StatusBadRequest, "bad_signature"},
		{"last hex digit of sign changed", e.v3Path(e.v3.ID), withSign(flipHex(sign, len(sign)-1)), http.StatusBadRequest, "bad_signature"},
		{"one byte of data changed (amount)", e.v3Path(e.v3.ID), bytes.Replace(genuine, []byte(`"total_fee":100`), []byte(`"total_fee":900`), 1), http.StatusBadRequest, "bad_signature"},
		{"one byte of data changed (order)", e.v3Path(e.v3.ID), bytes.Replace(genuine, []byte(`"mch_order_no":"HOOK-V3-F"`), []byte(`"mch_order_no":"HOOK-V3-G"`), 1), http.StatusBadRequest, "bad_signature"},
		{"signed with the merchant's key", e.v3Path(e.v3.ID), byMerchantKey, http.StatusBadRequest, "bad_signature"},
		{"no sign", e.v3Path(e.v3.ID), withSign(""), http.StatusBadRequest, "bad_signature"},
		{"another merchant's appid", e.v3Path(e.v3.ID), otherEnv, http.StatusBadRequest, "bad_signature"},
		{"not JSON", e.v3Path(e.v3.ID), []byte("hello"), http.StatusBadRequest, "bad_signature"},
		{"unknown account", e.v3Path(e.vip.ID + 1000), genuine, http.StatusNotFound, "unknown_account"},
		{"account id not a number", "/hooks/ksher/v3/abc", genuine, http.StatusNotFound, "unknown_account"},
		{"vip account's v3 receiver", e.v3Path(e.vip.ID), genuine, http.StatusNotFound, "wrong_api"},
		{"body over 64 KiB", e.v3Path(e.v3.ID), append(bytes.Repeat([]byte(" "), models.MaxNotificationBody), genuine...), http.StatusRequestEntityTooLarge, "too_large"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(e.notifications(t))
			status, body := e.post(t, tc.path, tc.body)
			if status != tc.status || bytes.Equal(body, gateway.V3NotificationAck) {
				t.Fatalf("answer = %d %s, want %d and no acknowledgement", status, body, tc.status)
			}
			ns := e.notifications(t)
			if len(ns) != before+1 || ns[0].Valid || !strings.HasPrefix(ns[0].Error, tc.reason+": ") || ns[0].Changed || ns[0].OrderID != nil {
				t.Fatalf("stored = %d rows, newest %+v; want one more, invalid for %s", len(ns), ns[0].Notification, tc.reason)
			}
			if o := e.order(t, hookV3Mid, id); o.Status != models.StatusPending || o.NotifiedAt != nil || o.Amount != 100 {
				t.Errorf("order changed by a refused notification: %+v", o)
			}
		})
	}
	if o := e.order(t, hookV3Mid, "HOOK-V3-G"); o != nil {
		t.Errorf("a refused notification created order %+v", o)
	}

	// The genuine one, URL-encoded as Ksher's PHP demo reads it, is accepted.
	status, body := e.post(t, e.v3Path(e.v3.ID), []byte(url.QueryEscape(string(genuine))))
	if status != http.StatusOK || string(body) != `{"result":"SUCCESS","msg":"OK"}` {
		t.Fatalf("genuine (URL-encoded) = %d %q", status, body)
	}
	if o := e.order(t, hookV3Mid, id); o.Status != models.StatusPaid || o.NotifiedAt == nil || o.GatewayOrderNo != "77"+id {
		t.Errorf("order after the genuine notification = %+v, want paid and notified", o)
	}
	// Raw, it is the same notification: a replay.
	if status, body := e.post(t, e.v3Path(e.v3.ID), genuine); status != http.StatusOK || !bytes.Equal(body, gateway.V3NotificationAck) {
		t.Fatalf("genuine (raw) = %d %q", status, body)
	}
	if ns := e.notifications(t); !ns[0].Replay || ns[1].Replay || !ns[1].Changed {
		t.Errorf("genuine then raw copy = %+v / %+v, want changed then replay", ns[1].Notification, ns[0].Notification)
	}
}

// A vip order paid in the sandbox: its webhook (no amounts) reaches the
// app, which stores it and asks Ksher about the order exactly once; a
// replay asks nothing.
func TestHookVIPWebhookFromSandbox(t *testing.T) {
	e := newHookEnv(t)
	ctx := context.Background()
	const id = "HOOK-VIP-1"
	if _, err := e.vipc.PaymentLinks.Create(ctx, &gateway.PaymentLinkCreateParams{Mid: hookVIPMid, MerchantOrderID: id, Amount: 4200,
		Channels: []string{"truemoney"}, RedirectURL: "https://shop.example/ok", FailRedirectURL: "https://shop.example/fail"}); err != nil {
		t.Fatal(err)
	}
	e.sb.ResetCalls()
	if err := e.sb.Pay(id, "truemoney"); err != nil {
		t.Fatal(err)
	}
	sent := e.waitDelivered(t, id)
	if len(sent.Attempts) != 1 || sent.Attempts[0].Status != http.StatusOK {
		t.Errorf("webhook attempts = %+v, want one, accepted", sent.Attempts)
	}
	if n := e.sb.Calls("vip.redirect.query"); n != 1 {
		t.Errorf("queries after the webhook = %d, want exactly 1", n)
	}
	o := e.order(t, hookVIPMid, id)
	if o == nil || o.Status != models.StatusPaid || o.Amount != 4200 || o.NotifiedAt == nil {
		t.Fatalf("order after the webhook = %+v, want paid 4200, notified", o)
	}
	ns := e.notifications(t)
	if len(ns) != 1 || !ns[0].Valid || !ns[0].Changed || ns[0].HandledAt == nil || ns[0].Mid != hookVIPMid || ns[0].OrderID == nil ||
		*ns[0].OrderID != o.ID || ns[0].Method != "GET" || !strings.Contains(ns[0].URL, "signature=") {
		t.Fatalf("stored = %+v", ns)
	}

	// The same webhook again (Ksher retrying): 200, a replay, no query.
	u, _ := url.Parse(sent.URL)
	if status := e.get(t, u.RequestURI(), ""); status != http.StatusOK {
		t.Fatalf("replayed webhook = %d, want 200", status)
	}
	if n := e.sb.Calls("vip.redirect.query"); n != 1 {
		t.Errorf("queries after a replay = %d, want still 1", n)
	}
	if ns := e.notifications(t); len(ns) != 2 || !ns[0].Replay || ns[0].Changed {
		t.Errorf("replay stored as %+v", ns[0].Notification)
	}
}

// vip webhooks are signed over the full URL Ksher calls, which is BASE_URL
// plus the path: a signature over any other URL, a changed parameter or a
// changed signature is refused (401), stored as invalid, and asks Ksher
// nothing; a proxy's Host header does not matter.
func TestHookVIPRejectsForgeries(t *testing.T) {
	e := newHookEnv(t)
	ctx := context.Background()
	const id = "HOOK-VIP-F"
	if _, err := e.vipc.PaymentLinks.Create(ctx, &gateway.PaymentLinkCreateParams{Mid: hookVIPMid, MerchantOrderID: id, Amount: 500,
		Channels: []string{"truemoney"}, RedirectURL: "https://shop.example/ok", FailRedirectURL: "https://shop.example/fail"}); err != nil {
		t.Fatal(err)
	}
	if err := e.sb.SimulatePayer("", id, "truemoney", sandbox.OutcomeAbandon); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.store.UpsertOrder(ctx, models.OrderUpdate{AccountID: e.vip.ID, Mid: hookVIPMid, MchOrderNo: id, Kind: "redirect",
		Status: models.StatusPending, Amount: 500, Source: "link"}); err != nil {
		t.Fatal(err)
	}
	path := e.vipPath(e.vip.ID)
	full := e.appURL + path
	genuine := vipWebhook(id, "Order Paid", full, hookToken)
	changed := func(k, v string) url.Values {
		q := url.Values{}
		for kk, vv := range genuine {
			q[kk] = append([]string(nil), vv...)
		}
		q.Set(k, v)
		return q
	}
	internalHost := "ksherdash.internal:8080"
	cases := []struct {
		name  string
		query url.Values
		host  string
	}{
		{"signed over another host", vipWebhook(id, "Order Paid", "https://evil.example"+path, hookToken), ""},
		{"signed over another path", vipWebhook(id, "Order Paid", e.appURL+e.vipPath(e.v3.ID), hookToken), ""},
		{"signed over https instead of http", vipWebhook(id, "Order Paid", strings.Replace(full, "http://", "https://", 1), hookToken), ""},
		{"signed over the Host a proxy sent", vipWebhook(id, "Order Paid", "http://"+internalHost+path, hookToken), internalHost},
		{"signed with another token", vipWebhook(id, "Order Paid", full, "not-the-token"), ""},
		{"one hex digit of the signature changed", changed("signature", flipHex(genuine.Get("signature"), 5)), ""},
		{"message changed", changed("message", "Order Refunded"), ""},
		{"order changed", changed("instance", "HOOK-VIP-G"), ""},
		{"parameter added", func() url.Values { q := changed("x", "1"); return q }(), ""},
		{"no signature", changed("signature", ""), ""},
	}
	e.sb.ResetCalls()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(e.notifications(t))
			if status := e.get(t, path+"?"+tc.query.Encode(), tc.host); status != http.StatusUnauthorized {
				t.Fatalf("status = %d, want 401", status)
			}
			ns := e.notifications(t)
			if len(ns) != before+1 || ns[0].Valid || !strings.HasPrefix(ns[0].Error, "bad_signature: ") || ns[0].OrderID != nil {
				t.Fatalf("stored %+v, want one more, invalid", ns[0].Notification)
			}
			if o := e.order(t, hookVIPMid, id); o.Status != models.StatusPending || o.NotifiedAt != nil {
				t.Errorf("order changed: %+v", o)
			}
		})
	}
	if n := e.sb.Calls("vip.redirect.query"); n != 0 {
		t.Errorf("refused webhooks asked Ksher %d times, want 0", n)
	}
	if status := e.get(t, "/hooks/ksher/vip/999999?"+genuine.Encode(), ""); status != http.StatusNotFound {
		t.Errorf("unknown account = %d, want 404", status)
	}
	if ns := e.notifications(t); ns[0].Valid || ns[0].AccountID != nil || !strings.HasPrefix(ns[0].Error, "unknown_account: ") {
		t.Errorf("unknown account stored as %+v", ns[0].Notification)
	}

	// Genuine, through a proxy that rewrote Host: verified against BASE_URL.
	// The sandbox still says the order is unpaid, so the query answers
	// "pending": handled, not agreeing, order not marked as notified.
	if status := e.get(t, path+"?"+genuine.Encode(), internalHost); status != http.StatusOK {
		t.Fatalf("genuine webhook behind a proxy = %d, want 200", status)
	}
	if n := e.sb.Calls("vip.redirect.query"); n != 1 {
		t.Errorf("queries = %d, want 1", n)
	}
	if ns := e.notifications(t); !ns[0].Valid || ns[0].HandledAt == nil {
		t.Errorf("genuine stored as %+v", ns[0].Notification)
	}
	if o := e.order(t, hookVIPMid, id); o.Status != models.StatusPending || o.NotifiedAt != nil {
		t.Errorf("order = %+v, want still pending (Ksher says so)", o)
	}
}

var rowRe = regexp.MustCompile(`data-testid="event-row" data-id="\d+" data-valid="(true|false)"`)

// The event log page lists the mid's notifications with their verdict,
// filters valid/invalid, pages, and is refused to roles without the right.
func TestEventLogPage(t *testing.T) {
	e := newHookEnv(t)
	ctx := context.Background()
	genuine, _ := v3Notification(t, e.ksherKey, "HOOK-EV-1", 700)
	e.post(t, e.v3Path(e.v3.ID), genuine)
	e.post(t, e.v3Path(e.v3.ID), genuine)
	bad, _ := v3Notification(t, e.mchKey, "HOOK-EV-2", 700)
	e.post(t, e.v3Path(e.v3.ID), bad)
	for _, u := range []models.NewUser{
		{Email: "fin@example.com", Name: "Fin", Password: testPassword, Role: models.RoleFinance, Mids: []string{hookV3Mid}},
		{Email: "sup@example.com", Name: "Sup", Password: testPassword, Role: models.RoleSupport, Mids: []string{hookV3Mid}},
		{Email: "vip@example.com", Name: "Vip", Password: testPassword, Role: models.RoleFinance, Mids: []string{hookVIPMid}},
	} {
		if _, err := e.store.CreateUser(ctx, models.CommandLine(), u); err != nil {
			t.Fatal(err)
		}
	}
	c := newClient(t, e.env.app)
	c.login("fin@example.com", testPassword)
	resp, body := c.get("/m/" + hookV3Mid + "/events")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("events = %d", resp.StatusCode)
	}
	got := rowRe.FindAllStringSubmatch(body, -1)
	if len(got) != 3 || got[0][1] != "false" || got[1][1] != "true" || got[2][1] != "true" {
		t.Fatalf("rows = %v, want refused, replay, first (newest first)", got)
	}
	for _, want := range []string{`data-testid="event-replay"`, `data-testid="event-changed"`, `data-testid="event-invalid"`,
		"Signature does not verify", "HOOK-EV-1", "Asia/Bangkok"} {
		if !strings.Contains(body, want) {
			t.Errorf("events page lacks %s", want)
		}
	}
	if _, body := c.get("/m/" + hookV3Mid + "/events?valid=no"); len(rowRe.FindAllString(body, -1)) != 1 || !strings.Contains(body, `data-valid="false"`) {
		t.Errorf("?valid=no does not show only the refused one")
	}
	req := httptest.NewRequest(http.MethodGet, "/m/"+hookV3Mid+"/events?valid=yes", nil)
	req.Header.Set("HX-Request", "true")
	resp, body = c.do(req)
	if resp.StatusCode != http.StatusOK || strings.Contains(body, "<html") || len(rowRe.FindAllString(body, -1)) != 2 ||
		!strings.Contains(resp.Header.Get("Vary"), "HX-Request") {
		t.Errorf("htmx filter = %d, vary %q, %d rows; want the table alone", resp.StatusCode, resp.Header.Get("Vary"), len(rowRe.FindAllString(body, -1)))
	}
	// A finance person of the vip mid sees none of the v3 account's.
	v := newClient(t, e.env.app)
	v.login("vip@example.com", testPassword)
	if _, body := v.get("/m/" + hookVIPMid + "/events"); len(rowRe.FindAllString(body, -1)) != 0 {
		t.Errorf("the vip mid's log shows another account's notifications")
	}
	s := newClient(t, e.env.app)
	s.login("sup@example.com", testPassword)
	if resp, _ := s.get("/m/" + hookV3Mid + "/events"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("support on the event log = %d, want 403", resp.StatusCode)
	}

	// Keyset pages: 60 more refused notifications, 50 a page.
	for i := range 60 {
		e.post(t, e.v3Path(e.v3.ID), []byte(fmt.Sprintf("junk %d", i)))
	}
	seen := map[string]bool{}
	next := "/m/" + hookV3Mid + "/events"
	for pages := 0; next != "" && pages < 5; pages++ {
		_, body := c.get(next)
		for _, m := range regexp.MustCompile(`data-testid="event-row" data-id="(\d+)"`).FindAllStringSubmatch(body, -1) {
			if seen[m[1]] {
				t.Errorf("row %s on two pages", m[1])
			}
			seen[m[1]] = true
		}
		next = ""
		if m := regexp.MustCompile(`href="([^"]+)"[^>]*data-testid="events-older"`).FindStringSubmatch(body); m != nil {
			next = strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	if len(seen) != 63 {
		t.Errorf("rows over all pages = %d, want 63", len(seen))
	}
}

// startJobs starts the app's River client: queued jobs are worked.
func (e *hookEnv) startJobs(t *testing.T) {
	t.Helper()
	if err := e.jobs.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// resyncDone polls the drift page's re-sync at loc (a redirect after
// "re-sync all"; River must be working jobs) until it is over and the poll
// asks for the whole page again, then loads the page as the browser does
// and returns it.
func (e *hookEnv) resyncDone(t *testing.T, c *client, loc string) string {
	t.Helper()
	_, box := e.poll(t, c, loc, "the re-sync to finish", func(resp *http.Response, body string) bool {
		return resp.Header.Get("HX-Refresh") == "true"
	})
	if strings.Contains(box, "<html") || strings.Contains(box, "every 2s") {
		t.Errorf("polled box = %s, want the box alone, no more polling", box)
	}
	_, body := c.get(loc)
	if m := resyncRe.FindStringSubmatch(body); m == nil || m[1] != models.ResyncDone || m[2] != m[3] || strings.Contains(body, `hx-trigger="every 2s"`) {
		t.Errorf("page after the re-sync: progress %v, want done, all asked, no polling", m)
	}
	return body
}

// poll asks for path as htmx polling does, until cond holds for the
// answer (bounded).
func (e *hookEnv) poll(t *testing.T, c *client, path, what string, cond func(resp *http.Response, body string) bool) (*http.Response, string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("HX-Request", "true")
		resp, body := c.do(req)
		if cond(resp, body) {
			return resp, body
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; last answer %d:\n%s", what, resp.StatusCode, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// signIn creates a person with a password and signs them in.
func (e *hookEnv) signIn(t *testing.T, email, role string, mids ...string) *client {
	t.Helper()
	if _, err := e.store.CreateUser(context.Background(), models.CommandLine(), models.NewUser{Email: email, Name: email, Password: testPassword, Role: role, Mids: mids}); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, e.env.app)
	if resp := c.login(email, testPassword); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login %s = %d", email, resp.StatusCode)
	}
	return c
}

func (e *hookEnv) audits(t *testing.T, action string) []models.AuditEntry {
	t.Helper()
	es, err := e.store.AuditLog(context.Background(), models.AuditFilter{Action: action, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

var syncRowRe = regexp.MustCompile(`data-testid="sync-row" data-mid="([^"]+)" data-day="([^"]+)" data-status="([^"]+)"`)

// The sync page: v3 mids are named as having no daily report; a day of a
// vip mid is queued from the form (audited), bad input re-renders the form,
// and the worker's progress shows.
func TestSyncPage(t *testing.T) {
	e := newHookEnv(t)
	ctx := context.Background()
	c := e.signIn(t, "fin@example.com", models.RoleFinance, hookV3Mid, hookVIPMid)
	resp, body := c.get("/m/all/sync")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="sync-v3-note"`) || !strings.Contains(body, hookV3Mid) ||
		!strings.Contains(body, `<option value="`+hookVIPMid+`"`) || strings.Contains(body, `<option value="`+hookV3Mid+`"`) {
		t.Fatalf("sync page = %d; want the v3 note and only the vip mid in the form:\n%s", resp.StatusCode, body)
	}
	bkk, _ := time.LoadLocation("Asia/Bangkok")
	today := time.Now().In(bkk).Format(time.DateOnly)
	for _, bad := range []url.Values{
		{"mid": {hookVIPMid}, "day": {time.Now().In(bkk).AddDate(0, 0, 1).Format(time.DateOnly)}},
		{"mid": {hookVIPMid}, "day": {time.Now().In(bkk).AddDate(0, 0, -200).Format(time.DateOnly)}},
		{"mid": {hookVIPMid}, "day": {"yesterday"}},
		{"mid": {hookV3Mid}, "day": {today}},
	} {
		bad.Set("csrf", c.csrf)
		resp, body := c.post("/m/all/sync", bad)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="sync-error"`) {
			t.Errorf("POST %v = %d, want the form again with its error", bad, resp.StatusCode)
		}
	}
	// On one mid's page, another mid cannot be queued.
	if resp, body := c.post("/m/"+hookV3Mid+"/sync", url.Values{"csrf": {c.csrf}, "mid": {hookVIPMid}, "day": {today}}); resp.StatusCode != http.StatusOK ||
		!strings.Contains(body, `data-testid="sync-error"`) {
		t.Errorf("queue another mid from /m/%s = %d", hookV3Mid, resp.StatusCode)
	}
	if js, _ := e.store.SyncJobs(ctx, []string{hookVIPMid, hookV3Mid}, 10); len(js) != 0 {
		t.Fatalf("refused forms queued %v", js)
	}

	ids := []string{"HOOK-SY-1", "HOOK-SY-2"}
	for _, id := range ids {
		if _, err := e.vipc.PaymentLinks.Create(ctx, &gateway.PaymentLinkCreateParams{Mid: hookVIPMid, MerchantOrderID: id, Amount: 3000,
			Channels: []string{"truemoney"}, RedirectURL: "https://shop.example/ok", FailRedirectURL: "https://shop.example/fail"}); err != nil {
			t.Fatal(err)
		}
	}
	resp, _ = c.post("/m/"+hookVIPMid+"/sync", url.Values{"csrf": {c.csrf}, "day": {today}})
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/m/"+hookVIPMid+"/sync?queued=") {
		t.Fatalf("queue = %d %s, want 303 back to the page", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, body = c.get(resp.Header.Get("Location"))
	if m := syncRowRe.FindAllStringSubmatch(body, -1); len(m) != 1 || m[0][1] != hookVIPMid || m[0][2] != today || m[0][3] != models.SyncQueued ||
		!strings.Contains(body, `data-testid="sync-queued"`) || !strings.Contains(body, `hx-trigger="every 2s"`) {
		t.Fatalf("after queueing: rows %v; want %s %s queued, a notice and polling", m, hookVIPMid, today)
	}
	if as := e.audits(t, models.AuditSyncPull); len(as) != 1 || as[0].Mid != hookVIPMid || as[0].ActorEmail != "fin@example.com" {
		t.Errorf("audit = %+v, want one sync_pull entry", as)
	}

	for _, id := range ids { // paid after queueing: the pull happens later
		if err := e.sb.Pay(id, "truemoney"); err != nil {
			t.Fatal(err)
		}
		e.waitDelivered(t, id)
	}
	e.startJobs(t) // River works the queued day; the page polls its row
	resp, body = e.poll(t, c, "/m/"+hookVIPMid+"/sync", "the day done", func(_ *http.Response, body string) bool {
		m := syncRowRe.FindAllStringSubmatch(body, -1)
		return len(m) == 1 && m[0][3] != models.SyncQueued && m[0][3] != models.SyncRunning
	})
	if m := syncRowRe.FindAllStringSubmatch(body, -1); resp.StatusCode != http.StatusOK || len(m) != 1 || m[0][3] != models.SyncDone ||
		!strings.Contains(body, "2 of 2") || strings.Contains(body, "every 2s") || strings.Contains(body, "<html") {
		t.Errorf("polled table = %d rows %v, want done, 2 of 2, no more polling:\n%s", resp.StatusCode, m, body)
	}

	// Who may not: a viewer cannot see it, a support person neither.
	v := e.signIn(t, "viewer@example.com", models.RoleViewer, hookVIPMid)
	if resp, _ := v.get("/m/" + hookVIPMid + "/sync"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer on the sync page = %d, want 403", resp.StatusCode)
	}
	if resp, _ := v.post("/m/"+hookVIPMid+"/sync", url.Values{"csrf": {v.csrf}, "day": {today}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer queueing = %d, want 403", resp.StatusCode)
	}
}

var (
	resyncRe = regexp.MustCompile(`data-testid="drift-resync-progress" data-state="([^"]+)" data-done="(\d+)" data-total="(\d+)"`)
	countsRe = regexp.MustCompile(`data-testid="drift-resync-counts" data-asked="(\d+)" data-skipped="(\d+)" data-changed="(\d+)" data-confirmed="(\d+)" data-failed="(\d+)"`)
)

// The drift page lists disagreements, paid orders without a notification
// and orders open too long; re-sync asks Ksher through the order cache
// (10-second rule per order) and says how many were asked, skipped,
// changed; every re-sync is audited.
func TestDriftPageAndResync(t *testing.T) {
	e := newHookEnv(t)
	ctx := context.Background()
	create := func(id string, pay bool) {
		t.Helper()
		if _, err := e.vipc.PaymentLinks.Create(ctx, &gateway.PaymentLinkCreateParams{Mid: hookVIPMid, MerchantOrderID: id, Amount: 2500,
			Channels: []string{"truemoney"}, RedirectURL: "https://shop.example/ok", FailRedirectURL: "https://shop.example/fail"}); err != nil {
			t.Fatal(err)
		}
		if pay {
			if err := e.sb.Pay(id, "truemoney"); err != nil {
				t.Fatal(err)
			}
		}
	}
	cache := func(id, status string, created time.Time) *models.Order {
		t.Helper()
		o, _, err := e.store.UpsertOrder(ctx, models.OrderUpdate{AccountID: e.vip.ID, Mid: hookVIPMid, MchOrderNo: id, Kind: "redirect",
			Status: status, Amount: 2500, Source: "sync", CreatedAt: &created})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	e.sb.SetWebhookURL("") // no webhooks: the cache learns only from what the test says
	create("HOOK-DR-A", true)
	create("HOOK-DR-B", true)
	create("HOOK-DR-C", false)
	a := cache("HOOK-DR-A", models.StatusFailed, time.Now()) // Ksher says paid
	cache("HOOK-DR-B", models.StatusPaid, time.Now())        // no notification
	cache("HOOK-DR-C", models.StatusPending, time.Now().Add(-time.Hour))
	e.sb.ResetCalls()

	c := e.signIn(t, "fin@example.com", models.RoleFinance, hookVIPMid)
	page := "/m/" + hookVIPMid + "/drift"
	_, body := c.get(page)
	for _, want := range []string{`data-testid="drift-disagreements-none"`, `data-testid="drift-unnotified-row" data-order="HOOK-DR-B"`,
		`data-testid="drift-open-row" data-order="HOOK-DR-C"`} {
		if !strings.Contains(body, want) {
			t.Errorf("drift page lacks %s", want)
		}
	}

	// Re-sync one: Ksher says paid; the cache takes it and the page shows
	// the disagreement.
	resp, _ := c.post(page+"/"+strconv.FormatInt(a.ID, 10)+"/resync", url.Values{"csrf": {c.csrf}})
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "asked=1") || !strings.Contains(resp.Header.Get("Location"), "changed=1") {
		t.Fatalf("resync one = %d %s, want 303 with asked=1 changed=1", resp.StatusCode, resp.Header.Get("Location"))
	}
	if o := e.order(t, hookVIPMid, "HOOK-DR-A"); o.Status != models.StatusPaid {
		t.Errorf("order after re-sync = %s, want paid", o.Status)
	}
	_, body = c.get(resp.Header.Get("Location"))
	if !strings.Contains(body, `data-testid="drift-result"`) || !strings.Contains(body, `data-testid="drift-disagreement" data-order="HOOK-DR-A"`) ||
		!strings.Contains(body, "Re-check") {
		t.Errorf("after re-sync, the page lacks the result or the disagreement:\n%s", body)
	}

	// Re-sync all shown (A, B, C): a job. The page, without JavaScript,
	// shows it queued (and polls it, with htmx); once River has worked it
	// the poll asks for the whole page again, which shows what it did: A
	// was asked under 10 s ago.
	resp, _ = c.post(page+"/resync", url.Values{"csrf": {c.csrf}})
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, page+"?") || !strings.Contains(loc, "resync=") {
		t.Fatalf("resync all = %d %s, want 303 back to the drift page with the re-sync", resp.StatusCode, loc)
	}
	_, body = c.get(loc)
	if m := resyncRe.FindStringSubmatch(body); m == nil || m[1] != models.ResyncQueued || m[3] != "3" || !strings.Contains(body, `hx-trigger="every 2s"`) {
		t.Fatalf("drift page after resync all: progress %v, want queued, 0 of 3, polling:\n%s", m, body)
	}
	e.startJobs(t)
	body = e.resyncDone(t, c, loc)
	if m := countsRe.FindStringSubmatch(body); m == nil || m[1] != "2" || m[2] != "1" || m[3] != "0" || m[4] != "1" || m[5] != "0" {
		t.Errorf("resync all counts (asked, skipped, changed, confirmed, failed) = %v, want 2 1 0 1 0", m)
	}
	if n := e.sb.Calls("vip.redirect.query"); n != 3 {
		t.Errorf("queries = %d, want 3 (A once, then B and C)", n)
	}
	if strings.Contains(body, `data-testid="drift-unnotified-row" data-order="HOOK-DR-B"`) {
		t.Error("B is still listed as paid without a notification after Ksher confirmed it")
	}
	// Again at once: what is still shown (A, C; Ksher confirmed B paid, so
	// it left the list) was asked moments ago.
	resp, _ = c.post(page+"/resync", url.Values{"csrf": {c.csrf}})
	body = e.resyncDone(t, c, resp.Header.Get("Location"))
	if m := countsRe.FindStringSubmatch(body); m == nil || m[1] != "0" || m[2] != "2" {
		t.Errorf("second resync all counts = %v, want asked 0, skipped 2", m)
	}
	if n := e.sb.Calls("vip.redirect.query"); n != 3 {
		t.Errorf("queries = %d after a re-sync within 10 s, want still 3", n)
	}
	if as := e.audits(t, models.AuditResync); len(as) != 3 {
		t.Errorf("resync audit entries = %d, want 3", len(as))
	}

	// Another mid's order is not found from this mid; a viewer may not.
	if resp, _ := c.post("/m/"+hookVIPMid+"/drift/999999/resync", url.Values{"csrf": {c.csrf}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("resync of an unknown order = %d, want 404", resp.StatusCode)
	}
	v := e.signIn(t, "viewer@example.com", models.RoleViewer, hookVIPMid)
	if resp, _ := v.get(page); resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer on drift = %d, want 403", resp.StatusCode)
	}
}
