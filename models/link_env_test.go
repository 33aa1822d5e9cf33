package models_test

import (
	"context"
	"crypto/rsa"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/gateway"
	"github.com/ksherdash/ksherdash/gateway/ksign"
	"github.com/ksherdash/ksherdash/gateway/sandbox"
	"github.com/ksherdash/ksherdash/models"
)

// linkEnv is a store, a sandbox serving a v3 appid (mch35000) and a vip
// mid (mch35618), an account of each kind, the link service with a started
// River client, and a receiver of Ksher's notifications (v3 mch_notify_url
// and the vip webhook, both at the hook server's URL, as the app's routes
// are) that hands them to the notification service: a link's live state
// comes from the real notifications.
type linkEnv struct {
	store  *models.Store
	sb     *sandbox.Sandbox
	accts  map[string]*models.MerchantAccount // by API kind
	orders *models.Orders
	links  *models.Links
	owner  *models.User
	actor  models.Actor
	clock  *linkClock
	// hooksDown makes the hook receiver answer 503 (a notification lost).
	hooksDown *atomic.Bool
}

const (
	linkV3Mid  = "mch35000"
	linkVIPMid = "mch35618"
	linkToken  = "link-token"
)

// linkClock is the store's clock, movable by the tests (expiry).
type linkClock struct{ ahead time.Duration }

func (c *linkClock) now() time.Time { return time.Now().UTC().Add(c.ahead) }

func linkKey(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "ksher", "keys", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// newLinkEnv builds the environment; speed is the sandbox's notification
// retry factor (vip webhooks within 10 s of Ksher's last answer are asked
// to come again, so a test of a vip payment needs real retry delays).
func newLinkEnv(t *testing.T, speed float64, cfg models.LinksConfig) *linkEnv {
	t.Helper()
	ctx := context.Background()
	discard := slog.New(slog.DiscardHandler)
	mchPub, err := ksign.ParsePublicKey(linkKey(t, "mch_pub_spki.pem"))
	if err != nil {
		t.Fatal(err)
	}
	ksherKey, err := ksign.ParsePrivateKey(linkKey(t, "ksim_priv_pkcs1.pem"))
	if err != nil {
		t.Fatal(err)
	}
	sb, err := sandbox.New(sandbox.Config{AppIDs: map[string]*rsa.PublicKey{linkV3Mid: mchPub}, KsherKey: ksherKey,
		Token: linkToken, Mids: []string{linkVIPMid}, SpeedFactor: speed, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb)
	e := &linkEnv{store: MustStore(t), sb: sb, accts: map[string]*models.MerchantAccount{}, clock: &linkClock{}, hooksDown: &atomic.Bool{}}
	e.store.SetClock(e.clock.now)
	v3 := models.AccountInput{Name: "V3 shop", APIKind: models.APIv3, BaseURL: srv.URL, GatewayBaseURL: srv.URL, Sandbox: true,
		Mids: []models.Mid{{Mid: linkV3Mid}}, Credentials: &models.Credentials{PrivateKeys: map[string]string{linkV3Mid: string(linkKey(t, "mch_priv_pkcs1.pem"))},
			KsherPublicKey: string(linkKey(t, "ksim_pub_spki.pem"))}}
	vip := models.AccountInput{Name: "VIP shop", APIKind: models.APIVIP, BaseURL: srv.URL, Sandbox: true,
		Mids: []models.Mid{{Mid: linkVIPMid}}, Credentials: &models.Credentials{Token: linkToken}}
	for _, in := range []models.AccountInput{v3, vip} {
		a, err := e.store.SaveAccount(ctx, models.SandboxSetup(), 0, in)
		if err != nil {
			t.Fatal(err)
		}
		e.accts[in.APIKind] = a
	}
	// The product's clients: one attempt per call, a short call timeout (a
	// "timeout" fault is then a second).
	gws := models.NewGatewayClients(e.store, nil, gateway.WithMaxRetries(0), gateway.WithNoSleep(), gateway.WithCallTimeout(time.Second))
	e.orders = models.NewOrders(e.store, gws, nil)
	notes := models.NewNotifications(e.store, e.orders, nil)
	hooks := httptest.NewServer(linkHookReceiver(notes, e.hooksDown))
	sb.SetWebhookURL(hooks.URL + "/hooks/ksher/vip/" + strconv.FormatInt(e.accts[models.APIVIP].ID, 10))
	t.Cleanup(func() { hooks.Close(); srv.Close(); sb.Close() })
	jobs := MustJobs(t, e.store, testJobConfig())
	cfg.BaseURL = hooks.URL
	if cfg.ExpireEvery == 0 {
		cfg.ExpireEvery = -1
	}
	if e.links, err = models.NewLinks(e.store, e.orders, jobs, nil, cfg); err != nil {
		t.Fatal(err)
	}
	if err := jobs.Start(ctx); err != nil {
		t.Fatal(err)
	}
	e.owner = mustOwner(t, e.store)
	e.actor = models.ActorOf(e.owner, "192.0.2.7", "test", "req-link")
	return e
}

// linkHookReceiver is the app's two hook routes, reduced to what the
// receivers in handlers do: read the request, let the service decide.
func linkHookReceiver(notes *models.Notifications, down *atomic.Bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		api, account := models.NotifyV3, strings.TrimPrefix(r.URL.Path, "/hooks/ksher/v3/")
		if strings.HasPrefix(r.URL.Path, "/hooks/ksher/vip/") {
			api, account = models.NotifyVIP, strings.TrimPrefix(r.URL.Path, "/hooks/ksher/vip/")
		}
		body, _ := io.ReadAll(r.Body)
		req := models.HookRequest{API: api, Account: account, Method: r.Method, URI: r.URL.RequestURI(), RemoteIP: "192.0.2.1",
			Body: body, SignedURL: "http://" + r.Host + r.URL.Path}
		res, err := notes.Receive(r.Context(), req)
		switch {
		case err != nil:
			http.Error(w, err.Error(), http.StatusInternalServerError)
		case res.Outcome == models.HookAccepted || res.Outcome == models.HookReplay:
			_, _ = io.WriteString(w, `{"result":"SUCCESS","msg":"OK"}`)
		default:
			http.Error(w, res.Message, http.StatusServiceUnavailable)
		}
	})
}

func (e *linkEnv) mid(api string) string {
	if api == models.APIVIP {
		return linkVIPMid
	}
	return linkV3Mid
}

func (e *linkEnv) access(t *testing.T, u *models.User, mid string) models.MidAccess {
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

// form opens the owner's create form on api's mid.
func (e *linkEnv) form(t *testing.T, api string) *models.LinkForm {
	t.Helper()
	f, err := e.links.Form(context.Background(), e.actor, e.access(t, e.owner, e.mid(api)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// request is a valid request of form f.
func linkRequest(f *models.LinkForm) models.LinkRequest {
	return models.LinkRequest{OrderNo: f.OrderNo, Amount: "150.50", Product: "Blue T-shirt size M", Channels: []string{"promptpay", "truemoney"},
		Note: "order 42", CustomerRef: "CUST-7"}
}

// create makes a valid link on api's mid and checks it is available.
func (e *linkEnv) create(t *testing.T, api string) *models.Link {
	t.Helper()
	f := e.form(t, api)
	l, err := e.links.Create(context.Background(), e.actor, e.access(t, e.owner, e.mid(api)), linkRequest(f))
	if err != nil {
		t.Fatal(err)
	}
	if l.State != models.LinkAvailable {
		t.Fatalf("link %s is %s (%s %s), want available", l.MchOrderNo, l.State, l.ErrorCode, l.Error)
	}
	return l
}

// link reloads link id.
func (e *linkEnv) link(t *testing.T, id int64) *models.Link {
	t.Helper()
	l, err := e.store.FindLink(context.Background(), []string{linkV3Mid, linkVIPMid}, id)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// waitLink waits until cond holds of link id and returns it.
func (e *linkEnv) waitLink(t *testing.T, id int64, timeout time.Duration, what string, cond func(*models.Link) bool) *models.Link {
	t.Helper()
	var l *models.Link
	waitFor(t, timeout, what, func() bool {
		l = e.link(t, id)
		return cond(l)
	})
	return l
}

// atSandbox counts the sandbox's orders with merchant number no.
func (e *linkEnv) atSandbox(no string) int {
	n := 0
	for _, o := range e.sb.Orders() {
		if o.MchOrderNo == no {
			n++
		}
	}
	return n
}

func createOp(api string) string {
	if api == models.APIVIP {
		return "vip.redirect.create"
	}
	return "gateway_pay"
}

func queryOp(api string) string {
	if api == models.APIVIP {
		return "vip.redirect.query"
	}
	return "gateway_order_query"
}

func cancelOp(api string) string {
	if api == models.APIVIP {
		return "vip.redirect.cancel"
	}
	return "cancel_order"
}

// linkAudits returns the payment link audit entries of number no, newest first.
func (e *linkEnv) linkAudits(t *testing.T, no string) []models.AuditEntry {
	t.Helper()
	es, err := e.store.AuditLog(context.Background(), models.AuditFilter{Action: models.AuditPaymentLink, Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	var out []models.AuditEntry
	for _, a := range es {
		if a.Target == no {
			out = append(out, a)
		}
	}
	return out
}
