package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// 100 concurrent searches of one uncached id, through the whole app, make
// exactly one upstream call (the sandbox counts them), and all find the order.
func TestConcurrentSearchesOfUncachedIdMakeOneCall(t *testing.T) {
	e := newOrderEnv(t)
	o := e.paidSandboxOrder(t, "mch46100", 1)
	before := e.calls()
	var wg sync.WaitGroup
	var mu sync.Mutex
	found, failed := 0, 0
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := httptest.NewRequest(http.MethodGet, "/m/mch46100/search?q="+url.QueryEscape(o.MchOrderNo), nil)
			for k, v := range e.owner.cookies { // read only: no client state is shared
				req.AddCookie(&http.Cookie{Name: k, Value: v})
			}
			resp, err := e.app.Test(req, -1)
			mu.Lock()
			defer mu.Unlock()
			if err != nil || resp.StatusCode != http.StatusOK {
				failed++
				return
			}
			var b strings.Builder
			buf := make([]byte, 32<<10)
			for {
				n, err := resp.Body.Read(buf)
				b.Write(buf[:n])
				if err != nil {
					break
				}
			}
			if strings.Contains(b.String(), o.MchOrderNo) && !strings.Contains(b.String(), `data-testid="search-none"`) {
				found++
			}
		}()
	}
	wg.Wait()
	if got := e.calls() - before; got != 1 {
		t.Errorf("upstream order queries = %d, want exactly 1", got)
	}
	if failed > 0 || found != 100 {
		t.Errorf("found in %d of 100 searches (%d failed)", found, failed)
	}
}
