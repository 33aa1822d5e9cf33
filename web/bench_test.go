package web

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/migrations"
	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/models/pgtest"
)

// benchOrders is the cache size of the quality bars (PRODUCT.md: 1,000,000
// cached orders); BENCH_ORDERS overrides it for a quick run.
func benchOrders() int {
	if n, err := strconv.Atoi(os.Getenv("BENCH_ORDERS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

// httpBench is the whole app over real HTTP on a loopback port, with a
// signed-in finance person on three mids and benchOrders() cached orders.
type httpBench struct {
	base   string
	cookie string
	client *http.Client
	n      int
}

func newHTTPBench(b *testing.B) *httpBench {
	b.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	store, err := models.Open(ctx, pgtest.NewDatabase(b), log)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	if _, err := store.Migrate(ctx, migrations.FS); err != nil {
		b.Fatal(err)
	}
	store.SetSecretKey([]byte(strings.Repeat("x", 32)))
	mids := []string{"mch1", "mch2", "mch3"}
	// Nothing listens at the account's URL: a cache miss would fail, and
	// every request here is answered by the cache.
	in := models.AccountInput{Name: "Bench", APIKind: models.APIVIP, BaseURL: "http://127.0.0.1:1",
		Credentials: &models.Credentials{Token: "tok"}}
	for _, m := range mids {
		in.Mids = append(in.Mids, models.Mid{Mid: m})
	}
	a, err := store.SaveAccount(ctx, models.SandboxSetup(), 0, in)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := store.FillOrders(ctx, a.ID, mids, benchOrders()); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d orders in %s", benchOrders(), time.Since(start).Round(time.Millisecond))
	u, err := store.CreateUser(ctx, models.CommandLine(), models.NewUser{Email: "fin@example.com", Name: "Fin", Password: "bench password 123",
		Role: models.RoleFinance, Mids: mids})
	if err != nil {
		b.Fatal(err)
	}
	policy := models.SessionPolicy{Idle: 30 * time.Minute, Absolute: 12 * time.Hour}
	token, _, err := store.CreateSession(ctx, u.ID, "127.0.0.1", "bench", policy)
	if err != nil {
		b.Fatal(err)
	}
	loc, _ := time.LoadLocation("Asia/Bangkok")
	app, err := New(Deps{Log: log, Store: store, Config: Config{
		SecretKey: []byte(strings.Repeat("x", 32)), Location: loc, Sessions: policy, Logins: models.DefaultLoginPolicy,
	}})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	b.Cleanup(func() { _ = app.Shutdown() })
	tr := &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}
	return &httpBench{base: "http://" + ln.Addr().String(), cookie: "ksd_session=" + token,
		client: &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		n:      benchOrders()}
}

// get fetches path (signed in unless anonymous) and fails the benchmark
// unless the page is a 200 containing want.
func (h *httpBench) get(b *testing.B, path, want string, anonymous bool) {
	req, err := http.NewRequest(http.MethodGet, h.base+path, nil)
	if err != nil {
		b.Error(err)
		return
	}
	if !anonymous {
		req.Header.Set("Cookie", h.cookie)
	}
	// b.Error, not b.Fatal: RunParallel calls this from its own goroutines.
	resp, err := h.client.Do(req)
	if err != nil {
		b.Error(err)
		return
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
		b.Errorf("GET %s: %d, %d bytes, %v; want 200 with %q", path, resp.StatusCode, len(body), err, want)
	}
}

// orderID is the merchant order number of a cached order, spread over the table.
func (h *httpBench) orderID(i int) string { return "ORD-" + strconv.Itoa(1+(i*7919)%h.n) }

// BenchmarkHTTP measures pages over real HTTP at the size of the quality
// bars (PRODUCT.md "Speed"): the id lookup page against a page of the same
// app that reads no orders (the ratio is reported as lookup/static, the bar
// is at least 0.5), and the orders list's p99 (the bar is 20 ms). Clients
// run in parallel, GOMAXPROCS of them, on the same two cores as the server.
func BenchmarkHTTP(b *testing.B) {
	h := newHTTPBench(b)
	static := func(b *testing.B, _ int) { h.get(b, "/m/all/search", `data-testid="search-form"`, false) }
	lookup := func(b *testing.B, i int) {
		id := h.orderID(i)
		h.get(b, "/m/all/search?q="+id, id, false)
	}
	b.Run("login_page", func(b *testing.B) {
		parallel(b, func(b *testing.B, _ int) { h.get(b, "/login", `name="password"`, true) })
	})
	b.Run("static_page", func(b *testing.B) { parallel(b, static) })
	b.Run("lookup_page", func(b *testing.B) { parallel(b, lookup) })
	// Both in one run, interleaved, so the ratio does not depend on what
	// else the machine did between two benchmarks.
	b.Run("lookup_vs_static", func(b *testing.B) {
		var staticNS, lookupNS atomic.Int64
		parallel(b, func(b *testing.B, i int) {
			t := time.Now()
			static(b, i)
			staticNS.Add(int64(time.Since(t)))
			t = time.Now()
			lookup(b, i)
			lookupNS.Add(int64(time.Since(t)))
		})
		b.ReportMetric(float64(staticNS.Load())/float64(lookupNS.Load()), "lookup/static")
	})
	lists := map[string]string{
		"list_one_mid":   "/m/mch1/orders",
		"list_all_mids":  "/m/all/orders?per=50",
		"list_filtered":  "/m/mch2/orders?status=paid&channel=truemoney&per=100",
		"list_amount_by": "/m/all/orders?sort=amount_desc",
	}
	for name, path := range lists {
		b.Run(name, func(b *testing.B) {
			var lat []time.Duration
			for b.Loop() {
				t := time.Now()
				h.get(b, path, `data-testid="orders-table"`, false)
				lat = append(lat, time.Since(t))
			}
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

// parallel runs fn from GOMAXPROCS goroutines, each with its own counter.
func parallel(b *testing.B, fn func(b *testing.B, i int)) {
	var next atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			fn(b, int(next.Add(1)))
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}
