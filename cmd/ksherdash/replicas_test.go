package main

import (
	"bufio"
	"context"
	"crypto/rsa"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ksherdash/ksherdash/gateway/ksign"
	"github.com/ksherdash/ksherdash/gateway/sandbox"
	"github.com/ksherdash/ksherdash/migrations"
	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/models/pgtest"
)

// replica is the real program in an OS process of its own (this test
// binary re-run as main, see TestMain).
type replica struct {
	name   string
	URL    string
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan struct{}
}

// startReplica starts the program with env and waits until it listens.
func startReplica(t *testing.T, name string, env map[string]string) *replica {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = []string{"KSHERDASH_RUN_MAIN=1", "PATH=" + os.Getenv("PATH"), "LISTEN_ADDR=127.0.0.1:0", "DATA_DIR=" + mustTempDir(t)}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	r := &replica{name: name, cmd: cmd, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stderr = r.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.stop(t) })
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := listenRe.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, out)
		_ = cmd.Wait()
		close(r.done)
	}()
	select {
	case r.URL = <-urls:
	case <-r.done:
		t.Fatalf("%s exited before listening:\n%s", name, r.stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("%s did not listen within 60 s:\n%s", name, r.stderr.String())
	}
	return r
}

// stop interrupts the process (as an operator's SIGINT) and waits for it.
func (r *replica) stop(t *testing.T) {
	select {
	case <-r.done:
		return
	default:
	}
	_ = r.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
		t.Errorf("%s did not stop within 30 s", r.name)
	}
	if t.Failed() {
		t.Logf("%s stderr (tail):\n%s", r.name, tail(r.stderr.String(), 4000))
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// browserSession is a signed-in person's cookies, sent to either replica.
type browserSession struct {
	t       *testing.T
	cookies []*http.Cookie
	csrf    string
}

var csrfFieldRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browserSession) do(req *http.Request) (*http.Response, string) {
	b.t.Helper()
	resp, body, err := b.send(req)
	if err != nil {
		b.t.Fatal(err)
	}
	return resp, body
}

// send is do for other goroutines than the test's: it returns the error.
func (b *browserSession) send(req *http.Request) (*http.Response, string, error) {
	for _, c := range b.cookies {
		req.AddCookie(c)
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, string(body), err
}

var noRedirects = &http.Client{Timeout: 30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// signInAt signs in on one replica, as a browser would.
func signInAt(t *testing.T, base, email, password string) *browserSession {
	t.Helper()
	b := &browserSession{t: t}
	req, _ := http.NewRequest(http.MethodGet, base+"/login", nil)
	resp, body := b.do(req)
	m := csrfFieldRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token on %s/login (%d)", base, resp.StatusCode)
	}
	b.cookies, b.csrf = resp.Cookies(), m[1]
	form := url.Values{"csrf": {b.csrf}, "email": {email}, "password": {password}}
	req, _ = http.NewRequest(http.MethodPost, base+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, _ = b.do(req)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in at %s = %d", base, resp.StatusCode)
	}
	for _, c := range resp.Cookies() {
		if c.Name == "ksd_session" {
			b.cookies = append(b.cookies, c)
		}
	}
	return b
}

// Two replicas: two OS processes of the real program on one database, with
// one SECRET_KEY and one Ksher (a sandbox both talk to, counting the calls
// it gets). A session begun on one is served by the other (its CSRF token
// too); the periodic sync schedule (River's leader, SYNC_INTERVAL 1 s) runs
// once per period across both, not once per process; and concurrent
// searches, then refreshes, of one order the cache does not know, split
// across both, ask Ksher exactly once each (models.Store.Upstream's lease).
func TestTwoReplicasShareSessionsJobsAndTheUpstreamRule(t *testing.T) {
	ctx := context.Background()
	const (
		secretKey = "replica-test-secret-key-0123456789abcdef"
		email     = "owner@example.com"
		password  = "replica owner password"
		period    = time.Second
	)
	sb, sbURL := replicaSandbox(t)
	dsn := pgtest.NewDatabase(t)
	store, err := models.Open(ctx, dsn, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if _, err := store.Migrate(ctx, migrations.FS); err != nil {
		t.Fatal(err)
	}
	store.SetSecretKey([]byte(secretKey)) // the replicas open the credentials sealed here
	pemOf := func(name string) string {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "ksher", "keys", name))
		must(t, err)
		return string(b)
	}
	if _, err := store.SaveAccount(ctx, models.SandboxSetup(), 0, models.AccountInput{Name: "Replica v3", APIKind: models.APIv3,
		BaseURL: sbURL, GatewayBaseURL: sbURL, Sandbox: true, Mids: []models.Mid{{Mid: "mch35000"}},
		Credentials: &models.Credentials{PrivateKeys: map[string]string{"mch35000": pemOf("mch_priv_pkcs1.pem")},
			KsherPublicKey: string(sb.KsherPublicKeyPEM())}}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.SaveAccount(ctx, models.SandboxSetup(), 0, models.AccountInput{Name: "Replica vip", APIKind: models.APIVIP,
		BaseURL: sbURL, Sandbox: true, Mids: []models.Mid{{Mid: "mch35618"}}, Credentials: &models.Credentials{Token: replicaToken}}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.CreateUser(ctx, models.CommandLine(), models.NewUser{Email: email, Password: password, Role: models.RoleOwner}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"DATABASE_URL": dsn, "SECRET_KEY": secretKey, "SANDBOX": "off", "SYNC_INTERVAL": period.String(), "LOG_LEVEL": "debug"}
	begin := time.Now()
	a := startReplica(t, "replica A", env)
	b := startReplica(t, "replica B", env)
	t.Logf("replica A at %s, B at %s", a.URL, b.URL)

	// Sessions: signed in on A, the same cookies are served by B, and B
	// accepts the token A's page gave (both derive it from SECRET_KEY).
	owner := signInAt(t, a.URL, email, password)
	req, _ := http.NewRequest(http.MethodGet, b.URL+"/account/security", nil)
	if resp, body := owner.do(req); resp.StatusCode != http.StatusOK || !strings.Contains(body, email) {
		t.Fatalf("the session of A on B = %d", resp.StatusCode)
	}
	form := url.Values{"csrf": {owner.csrf}, "to": {"th"}}
	req, _ = http.NewRequest(http.MethodPost, b.URL+"/lang", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, _ := owner.do(req); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a post to B with A's CSRF token = %d, want 303", resp.StatusCode)
	}
	if u, err := store.FindUserByEmail(ctx, email); err != nil || u.Language != "th" {
		t.Errorf("B did not act as the person signed in on A: %+v, %v", u, err)
	}

	// One upstream lookup: 20 searches of an order only Ksher knows, half
	// on each replica, at once.
	// Ksher takes 300 ms to answer, so that the callers surely overlap.
	o := unknownPaidOrder(t, sb, "mch35000")
	if _, err := sb.AddFault(sandbox.Fault{Op: "order_query", Kind: sandbox.FaultLatency, LatencyMS: 300}); err != nil {
		t.Fatal(err)
	}
	queriesBefore := queryCalls(sb)
	bodies := concurrently(20, func(i int) *http.Request {
		req, _ := http.NewRequest(http.MethodGet, []string{a.URL, b.URL}[i%2]+"/m/mch35000/search?q="+url.QueryEscape(o.MchOrderNo), nil)
		return req
	}, owner)
	found := 0
	for _, r := range bodies {
		if r.status == http.StatusOK && strings.Contains(r.body, o.MchOrderNo) && !strings.Contains(r.body, `data-testid="search-none"`) {
			found++
		}
	}
	if n := queryCalls(sb) - queriesBefore; n != 1 {
		t.Errorf("order queries for 20 searches across two replicas = %d, want exactly 1", n)
	}
	if found != 20 {
		t.Errorf("the order was found by %d of 20 searches", found)
	}

	// ... and 20 refreshes of it once Ksher may be asked again.
	id := cachedOrderID(t, dsn, o.MchOrderNo)
	time.Sleep(models.QueryGap + 500*time.Millisecond)
	queriesBefore = queryCalls(sb)
	results := concurrently(20, func(i int) *http.Request {
		req, _ := http.NewRequest(http.MethodPost, []string{a.URL, b.URL}[i%2]+"/m/mch35000/orders/"+id+"/refresh", nil)
		req.Header.Set("HX-Request", "true")
		req.Header.Set("X-CSRF-Token", owner.csrf)
		return req
	}, owner)
	for _, r := range results {
		if r.status != http.StatusOK {
			t.Errorf("a refresh = %d", r.status)
		}
	}
	if n := queryCalls(sb) - queriesBefore; n != 1 {
		t.Errorf("order queries for 20 refreshes across two replicas = %d, want exactly 1", n)
	}

	// Periodic jobs: the schedule ran once per period, not once per
	// replica (each of its runs worked once, by one of them).
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	deadline := time.Now().Add(30 * time.Second)
	var runs []scheduleRun
	for time.Now().Before(deadline) {
		if runs = scheduleRuns(t, conn); len(runs) >= 5 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	elapsed := time.Since(begin)
	if len(runs) < 5 {
		t.Fatalf("sync_schedule ran %d times in %v with a %v period", len(runs), elapsed, period)
	}
	if max := int(elapsed/period) + 1; len(runs) > max {
		t.Errorf("sync_schedule ran %d times in %v, want at most %d (once per period across replicas)", len(runs), elapsed, max)
	}
	for _, r := range runs {
		if r.Attempt > 1 || strings.Contains(r.AttemptedBy, ",") {
			t.Errorf("schedule run %+v worked more than once", r)
		}
	}
	var days int
	must(t, conn.QueryRow(ctx, `SELECT count(*) FROM sync_jobs WHERE mid = 'mch35618'`).Scan(&days))
	if days == 0 {
		t.Error("the schedule queued no day of the vip mid")
	}
	t.Logf("%d schedule runs in %v; %d vip days queued", len(runs), elapsed.Round(time.Millisecond), days)
}

const replicaToken = "replica-vip-token-0123456789"

// replicaSandbox is the one Ksher both replicas talk to, with the test
// keys for v3 mch35000 and the token for vip mch35618, seeded with orders
// the replicas' cache has never seen.
func replicaSandbox(t *testing.T) (*sandbox.Sandbox, string) {
	t.Helper()
	key := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "ksher", "keys", name))
		must(t, err)
		return b
	}
	mchPub, err := ksign.ParsePublicKey(key("mch_pub_spki.pem"))
	must(t, err)
	ksherKey, err := ksign.ParsePrivateKey(key("ksim_priv_pkcs1.pem"))
	must(t, err)
	sb, err := sandbox.New(sandbox.Config{AppIDs: map[string]*rsa.PublicKey{"mch35000": mchPub}, KsherKey: ksherKey,
		Token: replicaToken, Mids: []string{"mch35618"}, Logger: slog.New(slog.DiscardHandler)})
	must(t, err)
	srv := httptest.NewServer(sb)
	t.Cleanup(func() {
		srv.Close()
		_ = sb.Close()
	})
	if _, err := sb.SeedHistory(sandbox.SeedOptions{Seed: 7, Orders: 40, Days: 3}); err != nil {
		t.Fatal(err)
	}
	return sb, srv.URL
}

func unknownPaidOrder(t *testing.T, sb *sandbox.Sandbox, mid string) sandbox.Order {
	t.Helper()
	for _, o := range sb.Orders() {
		if o.Merchant == mid && o.State == "paid" && o.Kind != "gateway_pay" && o.MchOrderNo != "" {
			return o
		}
	}
	t.Fatalf("no paid order of %s in the sandbox", mid)
	return sandbox.Order{}
}

// queryCalls counts the order queries Ksher received, both APIs.
func queryCalls(sb *sandbox.Sandbox) int {
	n := sb.Calls("order_query") + sb.Calls("gateway_order_query")
	for _, k := range []string{"redirect", "miniapp", "app", "bscanc", "cscanb"} {
		n += sb.Calls("vip." + k + ".query")
	}
	return n
}

func cachedOrderID(t *testing.T, dsn, mchOrderNo string) string {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	must(t, err)
	defer conn.Close(context.Background())
	var id string
	must(t, conn.QueryRow(context.Background(), `SELECT id::text FROM orders WHERE mch_order_no = $1`, mchOrderNo).Scan(&id))
	return id
}

type result struct {
	status int // 0: no answer
	body   string
}

// concurrently sends n requests of b's at once (released together) and
// returns their answers.
func concurrently(n int, request func(i int) *http.Request, b *browserSession) []result {
	out := make([]result, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		req := request(i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if resp, body, err := b.send(req); err == nil {
				out[i] = result{resp.StatusCode, body}
			}
		}()
	}
	close(start)
	wg.Wait()
	return out
}

type scheduleRun struct {
	Attempt     int
	AttemptedBy string
}

func scheduleRuns(t *testing.T, conn *pgx.Conn) []scheduleRun {
	t.Helper()
	rows, err := conn.Query(context.Background(), `SELECT attempt, coalesce(array_to_string(attempted_by, ','), '')
		FROM river_job WHERE kind = 'sync_schedule' ORDER BY id`)
	must(t, err)
	runs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[scheduleRun])
	must(t, err)
	return runs
}
