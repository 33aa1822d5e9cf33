package web

import (
	"context"
	"crypto/rsa"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/gateway"
	"github.com/ksherdash/ksherdash/gateway/sandbox"
	"github.com/ksherdash/ksherdash/migrations"
	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/models/pgtest"
)

// The fault suite (issue 9): every gateway operation the product uses x
// every sandbox fault. In each cell the person sees a clear message (never
// a 500), the cache is unchanged, and the call log the product keeps for
// that operation shows the failed call. docs/RELIABILITY.md "Fault table"
// is this table, worded.
//
// Adding a column is one faultCases line: the sandbox Fault and the outcome
// class it ends in. Adding a row (a new feature's call) is one faultOps
// entry (fault_ops_test.go): a name, a setup made before the fault is
// planned, the person's action while Ksher fails, what they must see for
// each column, and the state and call log checked afterwards.

// outcome is the domain meaning a fault ends in (models.GatewayError).
type outcome string

const (
	outTimeout     outcome = models.EGATEWAYTIMEOUT // "Ksher did not answer in time", 504
	outBadGateway  outcome = models.EBADGATEWAY     // "Ksher's answer could not be used", 502
	outRateLimited outcome = models.ETOOMANYREQUEST // "Ksher asks to wait...", 429 or a notice
)

// says is the message of each outcome as a page shows it (HTML-escaped).
var says = map[outcome]string{
	outTimeout:     "Ksher did not answer in time",
	outBadGateway:  "Ksher&#39;s answer could not be used",
	outRateLimited: "Ksher asks to wait a few seconds before asking again",
}

// statusOf is the error status web/errors.go gives each outcome, where the
// designed answer is the error itself.
var statusOf = map[outcome]int{outTimeout: http.StatusGatewayTimeout, outBadGateway: http.StatusBadGateway,
	outRateLimited: http.StatusTooManyRequests}

// faultClientTimeout is the impatient client's timeout: short, so the
// suite is quick, yet far above a sandbox answer on a loaded machine (a
// slow answer must not turn a 5xx cell into a timeout). The latency fault
// waits well beyond it.
const faultClientTimeout = time.Second

// faultCase is a column: a sandbox fault (on every API operation until
// cleared), the gateway error kind the client reads it as, and the outcome.
type faultCase struct {
	name  string
	fault sandbox.Fault
	kind  gateway.ErrorKind
	want  outcome
}

var faultCases = []faultCase{
	{"latency", sandbox.Fault{Kind: sandbox.FaultLatency, LatencyMS: 4000}, gateway.KindTimeout, outTimeout},
	{"5xx", sandbox.Fault{Kind: sandbox.Fault5xx, Status: http.StatusServiceUnavailable}, gateway.KindTransport, outBadGateway},
	{"timeout", sandbox.Fault{Kind: sandbox.FaultTimeout}, gateway.KindTimeout, outTimeout},
	{"malformed", sandbox.Fault{Kind: sandbox.FaultMalformed}, gateway.KindTransport, outBadGateway},
	{"bad_signature", sandbox.Fault{Kind: sandbox.FaultBadSignature}, gateway.KindBadSignature, outBadGateway},
	{"rate_limit", sandbox.Fault{Kind: sandbox.FaultRateLimit}, gateway.KindRateLimited, outRateLimited},
	{"reset", sandbox.Fault{Kind: sandbox.FaultReset}, gateway.KindTransport, outBadGateway},
}

// seen is what the person got: the status and the text that matters (a
// page, a partial, or the part of it about the call).
type seen struct {
	status int
	text   string
}

// expect is what a cell's person must get.
type expect struct {
	status int
	says   []string
}

// faultCell is one cell's own data: order numbers and the vip mid no
// other cell of its row uses (a sync day and a drift page are per mid).
type faultCell struct {
	f     faultCase
	id    string // an order number of this cell alone
	mid   string // a vip mid of this cell alone
	order *models.Order
	path  string // the page the action acts on
	// before is a count taken by the setup (audit entries, say).
	before int
}

// faultOp is a row: one gateway operation the product makes.
type faultOp struct {
	name string
	// setup prepares the cell before the fault is planned (it may ask the
	// sandbox to create and pay orders).
	setup func(t *testing.T, e *faultEnv, c *faultCell)
	// act is what the person does while every Ksher call fails; for a job,
	// it waits until the progress row shows the failure.
	act func(t *testing.T, e *faultEnv, c *faultCell) seen
	// expect is what the person must see for the cell's fault.
	expect func(f faultCase) expect
	// after checks the cache and the call log, still under the fault (a
	// job's retry cannot change them meanwhile).
	after func(t *testing.T, e *faultEnv, c *faultCell)
}

func TestFaultSuite(t *testing.T) {
	t.Parallel()
	for _, op := range faultOps {
		t.Run(op.name, func(t *testing.T) {
			t.Parallel()
			e := newFaultEnv(t)
			for i, f := range faultCases {
				t.Run(f.name, func(t *testing.T) {
					c := &faultCell{f: f, id: fmt.Sprintf("FLT-%s-%s", op.name, f.name), mid: faultMid(i)}
					op.setup(t, e, c)
					fault := f.fault
					fault.Op = "*"
					if _, err := e.sb.AddFault(fault); err != nil {
						t.Fatal(err)
					}
					defer e.sb.ClearFaults()
					got := op.act(t, e, c)
					if fs := e.sb.Faults(); len(fs) != 1 || fs[0].Hits == 0 {
						t.Errorf("the fault was never hit: the cell tested nothing (%+v)", fs)
					}
					want := op.expect(f)
					if got.status != want.status || strings.Contains(got.text, "Internal error") {
						t.Errorf("%s under %s: status %d, want %d:\n%s", op.name, f.name, got.status, want.status, got.text)
					}
					for _, s := range want.says {
						if !strings.Contains(got.text, s) {
							t.Errorf("%s under %s: the person is not told %q:\n%s", op.name, f.name, s, got.text)
						}
					}
					op.after(t, e, c)
				})
			}
		})
	}
}

// faultMid is the vip mid of column i.
func faultMid(i int) string { return fmt.Sprintf("mch462%02d", i) }

const faultV3Mid = "mch46100"

// faultEnv is one row's world: a database, the sandbox on its own HTTP
// server (so the reset and timeout faults act on real connections), a v3
// account and a vip account (one mid per column) whose clients give up
// after faultClientTimeout and never retry, the app over them with River
// working its jobs, and an owner signed in.
type faultEnv struct {
	store      *models.Store
	sb         *sandbox.Sandbox
	v3, vip    *models.MerchantAccount
	v3c, vipc  *gateway.Client // the merchant's own clients: create sandbox orders in setups
	app        *testEnv
	owner      *client
	logs       *syncBuffer
	signedInAs map[string]*client
}

func newFaultEnv(t *testing.T) *faultEnv {
	t.Helper()
	ctx := context.Background()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	discard := slog.New(slog.DiscardHandler)
	store, err := models.Open(ctx, pgtest.NewDatabase(t), discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if _, err := store.Migrate(ctx, migrations.FS); err != nil {
		t.Fatal(err)
	}
	store.SetSecretKey([]byte(strings.Repeat("x", 32)))
	e := &faultEnv{store: store, logs: logs, signedInAs: map[string]*client{}}
	ksherKey, mchKey := mustTestKey(t, "ksim_priv_pkcs1.pem"), mustTestKey(t, "mch_priv_pkcs1.pem")
	mids := make([]string, len(faultCases))
	for i := range faultCases {
		mids[i] = faultMid(i)
	}
	e.sb, err = sandbox.New(sandbox.Config{AppIDs: map[string]*rsa.PublicKey{faultV3Mid: &mchKey.PublicKey}, KsherKey: ksherKey,
		Token: hookToken, Mids: mids, SpeedFactor: 0.001, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.sb.Close() })
	srv := httptest.NewServer(e.sb)
	t.Cleanup(srv.Close)

	if e.v3, err = store.SaveAccount(ctx, models.SandboxSetup(), 0, models.AccountInput{Name: "Fault v3", APIKind: models.APIv3,
		BaseURL: srv.URL, GatewayBaseURL: srv.URL, Sandbox: true, Mids: []models.Mid{{Mid: faultV3Mid}}, Credentials: &models.Credentials{
			PrivateKeys: map[string]string{faultV3Mid: pemPrivate(mchKey)}, KsherPublicKey: pemPublic(&ksherKey.PublicKey)}}); err != nil {
		t.Fatal(err)
	}
	in := models.AccountInput{Name: "Fault vip", APIKind: models.APIVIP, BaseURL: srv.URL, Sandbox: true,
		Credentials: &models.Credentials{Token: hookToken}}
	for _, m := range mids {
		in.Mids = append(in.Mids, models.Mid{Mid: m})
	}
	if e.vip, err = store.SaveAccount(ctx, models.SandboxSetup(), 0, in); err != nil {
		t.Fatal(err)
	}
	if e.vipc, err = gateway.New(gateway.Config{Kind: gateway.APIVIP, BaseURL: srv.URL, Token: hookToken, Mids: mids},
		gateway.WithLogger(discard), gateway.WithNoSleep()); err != nil {
		t.Fatal(err)
	}
	if e.v3c, err = gateway.New(gateway.Config{Kind: gateway.APIV3, BaseURL: srv.URL, GatewayBaseURL: srv.URL, KsherPublicKey: &ksherKey.PublicKey,
		Credentials: map[string]gateway.Credentials{faultV3Mid: {AppID: faultV3Mid, PrivateKey: mchKey}}},
		gateway.WithLogger(discard), gateway.WithNoSleep()); err != nil {
		t.Fatal(err)
	}

	// The program's services, as cmd wires them, over impatient clients.
	gws := models.NewGatewayClients(store, log, gateway.WithHTTPClient(&http.Client{Timeout: faultClientTimeout}),
		gateway.WithMaxRetries(0), gateway.WithNoSleep())
	jobs, err := models.NewJobs(store, models.JobsConfig{FetchPollInterval: 50 * time.Millisecond, StopTimeout: time.Second, TestOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	orders := models.NewOrders(store, gws, log)
	syncs, err := models.NewSync(store, gws, jobs, log, models.SyncConfig{})
	if err != nil {
		t.Fatal(err)
	}
	resyncs, err := models.NewDriftResyncs(store, orders, jobs, log)
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := time.LoadLocation("Asia/Bangkok")
	app, err := New(Deps{Log: log, Store: store, Gateways: gws, Orders: orders, Sync: syncs, Resyncs: resyncs, Config: Config{
		SecretKey: []byte(strings.Repeat("x", 32)), Sandbox: true, Location: loc,
		Sessions: models.SessionPolicy{Idle: 30 * time.Minute, Absolute: 12 * time.Hour}, Logins: models.DefaultLoginPolicy,
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := jobs.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = jobs.Stop(context.Background())
		if t.Failed() {
			t.Logf("app log:\n%s", logs.String())
		}
	})
	e.app = &testEnv{store: store, app: app}
	e.owner = e.signIn(t, "owner@example.com", models.RoleOwner)
	return e
}

// signIn returns a person of role holding mids, signed in (once per email).
func (e *faultEnv) signIn(t *testing.T, email, role string, mids ...string) *client {
	t.Helper()
	if c := e.signedInAs[email]; c != nil {
		return c
	}
	if _, err := e.store.CreateUser(context.Background(), models.CommandLine(), models.NewUser{Email: email, Name: email,
		Password: testPassword, Role: role, Mids: mids}); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, e.app.app)
	if resp := c.login(email, testPassword); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login %s = %d", email, resp.StatusCode)
	}
	e.signedInAs[email] = c
	return c
}

// cache stores an order as the cache knows it and returns it as stored.
func (e *faultEnv) cache(t *testing.T, u models.OrderUpdate) *models.Order {
	t.Helper()
	o, _, err := e.store.UpsertOrder(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	return e.reload(t, o)
}

// reload reads an order back from the cache.
func (e *faultEnv) reload(t *testing.T, o *models.Order) *models.Order {
	t.Helper()
	got, err := e.store.FindOrder(context.Background(), []string{o.Mid}, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// unchanged fails when the cache's row of o differs from o in what Ksher's
// answer would change.
func (e *faultEnv) unchanged(t *testing.T, o *models.Order) {
	t.Helper()
	got := e.reload(t, o)
	if got.Status != o.Status || got.Amount != o.Amount || got.Refunded != o.Refunded || !got.UpdatedAt.Equal(o.UpdatedAt) ||
		(got.CheckedAt == nil) != (o.CheckedAt == nil) || got.PaidAt == nil != (o.PaidAt == nil) {
		t.Errorf("the cached order changed under a failed call:\nbefore %+v\nafter  %+v", o, got)
	}
}

// callFailed fails unless o's last timeline entry is a failed call of
// kind ("refresh") that Ksher failed as f says, and the order's page shows
// it in the timeline.
func (e *faultEnv) callFailed(t *testing.T, o *models.Order, kind string, f faultCase) {
	t.Helper()
	evs, err := e.store.OrderEvents(context.Background(), o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) == 0 {
		t.Fatalf("no timeline entry for the failed call")
	}
	last := evs[len(evs)-1]
	d, ok := last.Details()
	if last.Kind != kind || last.OK || !ok || d.Code != models.EventCallFailed || d.ErrorKind != string(f.kind) || d.Op == "" {
		t.Errorf("last timeline entry = %+v %+v, want a failed %s call of kind %s", last, d, kind, f.kind)
	}
	_, body := e.owner.get(fmt.Sprintf("/m/%s/orders/%d", o.Mid, o.ID))
	if !strings.Contains(body, `data-testid="timeline-row" data-kind="`+kind+`" data-ok="false"`) || !strings.Contains(body, timelineSays[f.kind]) {
		t.Errorf("the order's timeline does not show the failed call (%q)", timelineSays[f.kind])
	}
}

// timelineSays is how the order timeline words a failed call of each kind.
var timelineSays = map[gateway.ErrorKind]string{
	gateway.KindTimeout:      "Ksher did not answer in time",
	gateway.KindTransport:    "Ksher could not be reached",
	gateway.KindBadSignature: "Ksher&#39;s answer failed its signature check",
	gateway.KindRateLimited:  "Ksher asked to slow down",
}

// poll asks for path as htmx polling does until done holds (bounded).
func poll(t *testing.T, c *client, path, what string, done func(resp *http.Response, body string) bool) (*http.Response, string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("HX-Request", "true")
		resp, body := c.do(req)
		if done(resp, body) {
			return resp, body
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; last answer %d:\n%s", what, resp.StatusCode, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
