package models_test

import (
	"context"
	"crypto/rsa"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/gateway"
	"github.com/ksherdash/ksherdash/gateway/ksign"
	"github.com/ksherdash/ksherdash/gateway/sandbox"
	"github.com/ksherdash/ksherdash/models"
)

// refundEnv is a store, a sandbox serving a v3 appid (mch35000) and a vip
// mid (mch35618), an account of each kind, and the refund service with a
// started River client: refunds are sent and reconciled by real jobs.
type refundEnv struct {
	store   *models.Store
	sb      *sandbox.Sandbox
	accts   map[string]*models.MerchantAccount // by API kind
	clients map[string]*gateway.Client         // the merchant's own, to create orders
	orders  *models.Orders
	refunds *models.Refunds
	sync    *models.Sync
	owner   *models.User
	seq     atomic.Int64
}

const (
	refundV3Mid  = "mch35000"
	refundVIPMid = "mch35618"
	refundToken  = "refund-token"
)

func testKey(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "ksher", "keys", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func newRefundEnv(t *testing.T, cfg models.RefundsConfig) *refundEnv {
	t.Helper()
	ctx := context.Background()
	discard := slog.New(slog.DiscardHandler)
	mchPub, err := ksign.ParsePublicKey(testKey(t, "mch_pub_spki.pem"))
	if err != nil {
		t.Fatal(err)
	}
	ksherKey, err := ksign.ParsePrivateKey(testKey(t, "ksim_priv_pkcs1.pem"))
	if err != nil {
		t.Fatal(err)
	}
	sb, err := sandbox.New(sandbox.Config{AppIDs: map[string]*rsa.PublicKey{refundV3Mid: mchPub}, KsherKey: ksherKey,
		Token: refundToken, Mids: []string{refundVIPMid}, SpeedFactor: 0.001, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb)
	t.Cleanup(func() { srv.Close(); sb.Close() })
	e := &refundEnv{store: MustStore(t), sb: sb, accts: map[string]*models.MerchantAccount{}, clients: map[string]*gateway.Client{}}
	v3 := models.AccountInput{Name: "V3 shop", APIKind: models.APIv3, BaseURL: srv.URL, GatewayBaseURL: srv.URL, Sandbox: true,
		Mids: []models.Mid{{Mid: refundV3Mid}}, Credentials: &models.Credentials{PrivateKeys: map[string]string{refundV3Mid: string(testKey(t, "mch_priv_pkcs1.pem"))},
			KsherPublicKey: string(testKey(t, "ksim_pub_spki.pem"))}}
	vip := models.AccountInput{Name: "VIP shop", APIKind: models.APIVIP, BaseURL: srv.URL, Sandbox: true,
		Mids: []models.Mid{{Mid: refundVIPMid}}, Credentials: &models.Credentials{Token: refundToken}}
	for _, in := range []models.AccountInput{v3, vip} {
		a, err := e.store.SaveAccount(ctx, models.SandboxSetup(), 0, in)
		if err != nil {
			t.Fatal(err)
		}
		e.accts[in.APIKind] = a
	}
	if e.clients[models.APIv3], err = gateway.New(gateway.Config{Kind: gateway.APIV3, BaseURL: srv.URL, GatewayBaseURL: srv.URL,
		KsherPublicKey: mustPub(t, "ksim_pub_spki.pem"), Credentials: map[string]gateway.Credentials{refundV3Mid: {AppID: refundV3Mid,
			PrivateKey: mustPriv(t, "mch_priv_pkcs1.pem")}}}, gateway.WithLogger(discard), gateway.WithNoSleep()); err != nil {
		t.Fatal(err)
	}
	if e.clients[models.APIVIP], err = gateway.New(gateway.Config{Kind: gateway.APIVIP, BaseURL: srv.URL, Token: refundToken,
		Mids: []string{refundVIPMid}}, gateway.WithLogger(discard), gateway.WithNoSleep()); err != nil {
		t.Fatal(err)
	}
	// The product's clients: one attempt per call (so each sandbox call is
	// one request) and a short call timeout (a "timeout" fault is a second).
	gws := models.NewGatewayClients(e.store, nil, gateway.WithMaxRetries(0), gateway.WithNoSleep(), gateway.WithCallTimeout(time.Second))
	e.orders = models.NewOrders(e.store, gws, nil)
	jobs := MustJobs(t, e.store, testJobConfig())
	if cfg.NotFoundAfter == 0 {
		cfg.NotFoundAfter = time.Millisecond
	}
	if e.refunds, err = models.NewRefunds(e.store, e.orders, jobs, nil, cfg); err != nil {
		t.Fatal(err)
	}
	if e.sync, err = models.NewSync(e.store, gws, jobs, nil, models.SyncConfig{}); err != nil {
		t.Fatal(err)
	}
	if err := jobs.Start(ctx); err != nil {
		t.Fatal(err)
	}
	e.owner = mustOwner(t, e.store)
	return e
}

func mustPub(tb testing.TB, name string) *rsa.PublicKey {
	k, err := ksign.ParsePublicKey(testKey(tb, name))
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func mustPriv(tb testing.TB, name string) *rsa.PrivateKey {
	k, err := ksign.ParsePrivateKey(testKey(tb, name))
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func (e *refundEnv) mid(api string) string {
	if api == models.APIVIP {
		return refundVIPMid
	}
	return refundV3Mid
}

// paid creates an order of amount on api's mid, pays it in the sandbox on
// channel and caches it through the live lookup, as a search would.
func (e *refundEnv) paid(t *testing.T, api, channel string, amount int64) *models.Order {
	t.Helper()
	ctx := context.Background()
	id := e.paidAtKsher(t, api, channel, amount)
	a := e.access(t, e.owner, e.mid(api))
	if up := e.orders.FindLive(ctx, a, id, nil); up.Err != nil || !up.Found {
		t.Fatalf("lookup of %s: %+v", id, up)
	}
	hits, err := e.store.FindOrdersByAnyID(ctx, []string{e.mid(api)}, id)
	if err != nil || len(hits) != 1 || hits[0].Status != models.StatusPaid {
		t.Fatalf("cached %s: %+v, %v", id, hits, err)
	}
	o := hits[0].Order
	return &o
}

// paidAtKsher creates and pays an order in the sandbox only, and returns
// its merchant order number.
func (e *refundEnv) paidAtKsher(t *testing.T, api, channel string, amount int64) string {
	t.Helper()
	ctx := context.Background()
	id := fmt.Sprintf("RO-%d-%d", time.Now().UnixNano()%1e9, e.seq.Add(1))
	c := e.clients[api]
	var err error
	if api == models.APIVIP {
		_, err = c.PaymentLinks.Create(ctx, &gateway.PaymentLinkCreateParams{Mid: refundVIPMid, MerchantOrderID: id, Amount: amount,
			RedirectURL: "https://shop.example/ok", FailRedirectURL: "https://shop.example/fail"})
	} else {
		_, err = c.Counter.QR(ctx, &gateway.QRParams{Mid: refundV3Mid, MerchantOrderID: id, Amount: amount, Channel: channel})
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sb.Pay(id, channel); err != nil {
		t.Fatal(err)
	}
	return id
}

func (e *refundEnv) access(t *testing.T, u *models.User, mid string) models.MidAccess {
	t.Helper()
	acc, err := e.store.Access(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	a := acc.Held(mid)
	if a == nil {
		t.Fatalf("%s does not hold %s", u.Email, mid)
	}
	return *a
}

// clerk is a person with a session whose step-up is confirmed.
type clerk struct {
	user    *models.User
	actor   models.Actor
	session string
}

func (e *refundEnv) person(t *testing.T, email, role string) clerk {
	t.Helper()
	var u *models.User
	if role == models.RoleOwner {
		u = MustPerson(t, e.store, email, true, nil)
	} else {
		u = MustPerson(t, e.store, email, false, map[string]string{refundV3Mid: role, refundVIPMid: role})
	}
	_, sess, err := e.store.CreateSession(context.Background(), u.ID, "192.0.2.9", "test", models.SessionPolicy{Idle: time.Hour, Absolute: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return clerk{user: u, actor: models.ActorOf(u, "192.0.2.9", "test", "req"), session: sess.ID}
}

// steppedUp confirms c's step-up once.
func (e *refundEnv) steppedUp(t *testing.T, c clerk) clerk {
	t.Helper()
	if err := e.store.ConfirmStepUp(context.Background(), c.actor, models.StepUp{SessionID: c.session, Password: "a long test password"},
		models.DefaultLoginPolicy); err != nil {
		t.Fatal(err)
	}
	return c
}

// form renders c's refund panel of o and returns its refund number.
func (e *refundEnv) form(t *testing.T, c clerk, o *models.Order) *models.RefundPanel {
	t.Helper()
	p, err := e.refunds.Panel(context.Background(), c.actor, e.access(t, c.user, o.Mid), c.session, o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (e *refundEnv) submit(c clerk, a models.MidAccess, o *models.Order, no, amount string) (*models.Refund, error) {
	return e.refunds.Create(context.Background(), c.actor, a, models.RefundRequest{OrderID: o.ID, RefundNo: no, Amount: amount,
		Reason: "customer returned the goods", StepUp: models.StepUp{SessionID: c.session, Password: "a long test password"}})
}

// settled waits until refund id leaves pending (and unknown, unless
// unknownOK) and returns it.
func (e *refundEnv) settled(t *testing.T, id int64, unknownOK bool) models.Refund {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var rf models.Refund
		if err := e.store.ScanForTest(context.Background(), &rf, "SELECT * FROM refunds WHERE id = ?", id); err != nil {
			t.Fatal(err)
		}
		if rf.Status == models.RefundSucceeded || rf.Status == models.RefundFailed || (unknownOK && rf.Status == models.RefundUnknown) {
			return rf
		}
		if time.Now().After(deadline) {
			t.Fatalf("refund %d still %s (attempts %d, checks %d, %s %s)", id, rf.Status, rf.Attempts, rf.Checks, rf.ErrorCode, rf.Error)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sandboxRefunded is what the sandbox holds as refunded of order id, and
// how many refunds.
func (e *refundEnv) sandboxRefunded(t *testing.T, id string) (int64, int) {
	t.Helper()
	for _, o := range e.sb.Orders() {
		if o.MchOrderNo == id {
			var sum int64
			for _, r := range o.Refunds {
				sum += r.Amount
			}
			return sum, len(o.Refunds)
		}
	}
	t.Fatalf("sandbox has no order %s", id)
	return 0, 0
}

func refundOp(api string) string {
	if api == models.APIVIP {
		return "vip.redirect.refund"
	}
	return "order_refund"
}
