package models_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/migrations"
	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/models/pgtest"
)

// benchOrders is the cache size the quality bars name (PRODUCT.md: 1,000,000
// cached orders); BENCH_ORDERS overrides it for a quick run.
func benchOrders() int {
	if n, err := strconv.Atoi(os.Getenv("BENCH_ORDERS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

// benchCache fills one database with benchOrders() orders over three mids
// and 180 days (generate_series: about 10 s for a million).
func benchCache(b *testing.B) *models.Store {
	b.Helper()
	var benchStore *models.Store
	var benchErr error
	func() {
		ctx := context.Background()
		s, err := models.Open(ctx, pgtest.NewDatabase(b), nil)
		if err != nil {
			benchErr = err
			return
		}
		if _, err := s.Migrate(ctx, migrations.FS); err != nil {
			benchErr = err
			return
		}
		s.SetSecretKey([]byte("bench secret key, at least 32 characters"))
		a := MustAccount(b, s, "Bench", "mch1", "mch2", "mch3")
		start := time.Now()
		benchErr = s.FillOrders(ctx, a.ID, []string{"mch1", "mch2", "mch3"}, benchOrders())
		b.Logf("seeded %d orders in %s", benchOrders(), time.Since(start))
		benchStore = s
	}()
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchStore
}

// BenchmarkOrderCache measures the cache at the size of the quality bars:
// the search box's lookup by each kind of id, and pages of the orders list.
func BenchmarkOrderCache(b *testing.B) {
	s := benchCache(b) // one database for every sub-benchmark
	b.Run("find", func(b *testing.B) { benchFind(b, s) })
	b.Run("list", func(b *testing.B) { benchList(b, s) })
}

func benchFind(b *testing.B, s *models.Store) {
	ctx := context.Background()
	n := benchOrders()
	ids := map[string]func(g int) string{
		"mch":     func(g int) string { return "ORD-" + strconv.Itoa(g) },
		"ksher":   func(g int) string { return fmt.Sprintf("9002%019d", g) },
		"missing": func(g int) string { return "NOPE-" + strconv.Itoa(g) },
	}
	for name, id := range ids {
		b.Run(name, func(b *testing.B) {
			mids := []string{"mch1", "mch2", "mch3"}
			i := 0
			for b.Loop() {
				i++
				if _, err := s.FindOrdersByAnyID(ctx, mids, id(1+(i*7919)%n)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchList: one page of the orders list, with p99 reported (the quality
// bar is p99 under 20 ms).
func benchList(b *testing.B, s *models.Store) {
	ctx := context.Background()
	day := time.Now().Add(-30 * 24 * time.Hour).UTC().Truncate(24 * time.Hour)
	dayEnd := day.Add(7 * 24 * time.Hour)
	cases := map[string]models.OrderFilter{
		"one_mid_first_page":  {Mids: []string{"mch1"}, Limit: 25},
		"all_mids_first_page": {Mids: []string{"mch1", "mch2", "mch3"}, Limit: 50},
		"status_and_week":     {Mids: []string{"mch2"}, Statuses: []string{"paid"}, From: &day, To: &dayEnd, Limit: 100},
		"amount_sort":         {Mids: []string{"mch1", "mch2", "mch3"}, Sort: "amount_desc", Limit: 25},
		"text_prefix":         {Mids: []string{"mch1", "mch2", "mch3"}, Text: "ORD-4242", Limit: 25},
		// mch1 has promptpay and alipay orders only (g % 3 and g % 6 agree).
		"channel_absent": {Mids: []string{"mch1"}, Channels: []string{"card"}, Limit: 25},
	}
	for name, f := range cases {
		b.Run(name, func(b *testing.B) {
			var lat []time.Duration
			for b.Loop() {
				t := time.Now()
				if _, _, err := s.ListOrders(ctx, f); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t))
			}
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
