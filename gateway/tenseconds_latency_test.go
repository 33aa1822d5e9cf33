package gateway_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/gateway"
)

// slowOnce is a transport whose next request after arm takes a second (of
// the shared fake clock) to reach the server: network latency that the
// request after it does not have.
type slowOnce struct {
	clk   *fakeClock
	armed atomic.Bool
}

func (s *slowOnce) RoundTrip(r *http.Request) (*http.Response, error) {
	if s.armed.CompareAndSwap(true, false) {
		s.clk.Advance(time.Second)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestTenSecondRuleCountsFromTheAnswer: Ksher sees a query when it arrives,
// not when it left the client, so the 10 seconds between two queries of
// one order run from the end of the first exchange. A first query that was
// slow to arrive must not let a second, fast one reach the sandbox less
// than 10 s after the first (it answers KSHER_API_ERR_ORDER_TOO_MANY_REQUESTS).
func TestTenSecondRuleCountsFromTheAnswer(t *testing.T) {
	ctx := context.Background()
	slow := &slowOnce{}
	rt := newRoundtrip(t, gateway.WithHTTPClient(&http.Client{Timeout: 2 * time.Second, Transport: slow}))
	slow.clk = rt.clk
	c := rt.v3
	must(c.Counter.Charge(ctx, &gateway.ChargeParams{MerchantOrderID: "TS-1", Amount: 10000, Channel: "truemoney", AuthCode: "1234567890"}))(t)
	slow.armed.Store(true)
	p := &gateway.OrderGetParams{MerchantOrderID: gateway.String("TS-1")}
	first := must(c.Orders.Get(ctx, p))(t)
	if first.Cached || first.Status != gateway.StatusPaid {
		t.Fatalf("first = %+v", first)
	}
	// 10 s after the first query left, 9 s after Ksher answered it.
	rt.clk.Advance(9 * time.Second)
	second, err := c.Orders.Get(ctx, p)
	if err != nil {
		t.Fatalf("second query 9 s after Ksher's answer: %v (want the last answer, not a query)", err)
	}
	if !second.Cached {
		t.Errorf("second = %+v, want the cached answer", second)
	}
	if n := rt.sb.Calls("order_query"); n != 1 {
		t.Errorf("order_query calls = %d, want 1", n)
	}
	rt.clk.Advance(time.Second)
	if third := must(c.Orders.Get(ctx, p))(t); third.Cached {
		t.Errorf("third (10 s after the answer) = cached, want a new query")
	}
	if n := rt.sb.Calls("order_query"); n != 2 {
		t.Errorf("order_query calls = %d, want 2", n)
	}
}
