package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/gateway"
	"github.com/ksherdash/ksherdash/models"
)

// The rows of the fault suite (fault_suite_test.go): every gateway
// operation the product uses, driven the way a person does.
var faultOps = []faultOp{
	searchOp("search_v3", faultV3Mid),
	searchOp("search_vip", faultMid(0)),
	refreshOp("refresh_v3", func(e *faultEnv, c *faultCell) models.OrderUpdate {
		return models.OrderUpdate{AccountID: e.v3.ID, Mid: faultV3Mid, Kind: models.OrderKindLink, MchOrderNo: c.id,
			Amount: 2500, Currency: "THB", Status: models.StatusPending, Source: "link"}
	}),
	refreshOp("refresh_vip", func(e *faultEnv, c *faultCell) models.OrderUpdate {
		return models.OrderUpdate{AccountID: e.vip.ID, Mid: c.mid, Kind: "redirect", MchOrderNo: c.id,
			Amount: 2500, Currency: "THB", Status: models.StatusPending, Source: "link"}
	}),
	testConnectionOp("test_connection_v3", func(e *faultEnv) *models.MerchantAccount { return e.v3 }),
	testConnectionOp("test_connection_vip", func(e *faultEnv) *models.MerchantAccount { return e.vip }),
	syncOp,
	driftResyncOp,
}

// searchOp: the search box with a number the cache does not hold but
// Ksher does, so Ksher is asked (Orders.FindLive) on mid, by a person
// holding mid alone. The page answers 200 and says, for that mid, why
// Ksher's answer is missing; nothing is cached; the "find" guard records
// the call, so the same search again within 10 s does not ask Ksher.
func searchOp(name, mid string) faultOp {
	tried := regexp.MustCompile(`(?s)<li data-testid="tried-live" data-mid="` + mid + `".*?</li>`)
	search := func(t *testing.T, e *faultEnv, c *faultCell) (*http.Response, string) {
		p := e.signIn(t, name+"@example.com", models.RoleFinance, mid)
		return p.get("/m/" + mid + "/search?q=" + url.QueryEscape(c.id))
	}
	return faultOp{name: name,
		setup: func(t *testing.T, e *faultEnv, c *faultCell) { e.paidOrder(t, mid, c.id) },
		act: func(t *testing.T, e *faultEnv, c *faultCell) seen {
			resp, body := search(t, e, c)
			return seen{resp.StatusCode, tried.FindString(body)}
		},
		expect: func(f faultCase) expect {
			return expect{http.StatusOK, []string{`data-testid="tried-error"`, says[f.want]}}
		},
		after: func(t *testing.T, e *faultEnv, c *faultCell) {
			ctx := context.Background()
			if hits, err := e.store.FindOrdersByAnyID(ctx, []string{mid}, c.id); err != nil || len(hits) != 0 {
				t.Errorf("a failed search cached %v (%v)", hits, err)
			}
			if at, found, err := e.store.LastUpstreamCall(ctx, "find:"+mid+":"+c.id); err != nil || at.IsZero() || found {
				t.Errorf("the search's call is not recorded as asked and not found: at %v found %v (%v)", at, found, err)
			}
			hits := e.sb.Faults()[0].Hits
			if resp, _ := search(t, e, c); resp.StatusCode != http.StatusOK || e.sb.Faults()[0].Hits != hits {
				t.Errorf("the same search again at once = %d and asked Ksher again (%d calls, then %d)", resp.StatusCode, hits, e.sb.Faults()[0].Hits)
			}
		},
	}
}

// refreshOp: the refresh button (htmx) of a cached open order
// (Orders.Refresh). Ksher's silence or an unusable answer is the error
// itself, swapped into #flash (504, 502; never the whole page); a rate
// limit is a notice beside the cached state (200). The order is unchanged
// and its timeline shows the failed call.
func refreshOp(name string, order func(e *faultEnv, c *faultCell) models.OrderUpdate) faultOp {
	return faultOp{name: name,
		setup: func(t *testing.T, e *faultEnv, c *faultCell) {
			c.order = e.cache(t, order(e, c))
			e.paidOrder(t, c.order.Mid, c.id)
			c.path = fmt.Sprintf("/m/%s/orders/%d", c.order.Mid, c.order.ID)
		},
		act: func(t *testing.T, e *faultEnv, c *faultCell) seen {
			resp, body := refresh(e.owner, c.path, "en")
			if strings.Contains(body, "<html") {
				body = "a whole page, not the partial:\n" + body
			}
			return seen{resp.StatusCode, body}
		},
		expect: func(f faultCase) expect {
			if f.want == outRateLimited {
				return expect{http.StatusOK, []string{`data-testid="refresh-notice"`, says[f.want], "The cached state is shown."}}
			}
			return expect{statusOf[f.want], []string{says[f.want]}}
		},
		after: func(t *testing.T, e *faultEnv, c *faultCell) {
			e.unchanged(t, c.order)
			e.callFailed(t, c.order, "refresh", c.f)
		},
	}
}

// testConnectionOp: "Test connection" on an account's page (htmx), one
// signed call per mid (Accounts.TestConnection). When no mid got an answer
// because Ksher was silent or failed itself, that is the answer (504, 502);
// otherwise each mid's row names what went wrong (200). The audit log keeps
// the test with each mid's failure.
func testConnectionOp(name string, account func(e *faultEnv) *models.MerchantAccount) faultOp {
	return faultOp{name: name,
		setup: func(t *testing.T, e *faultEnv, c *faultCell) {
			c.before = len(auditOf(t, e.store, models.AuditAccountTest))
		},
		act: func(t *testing.T, e *faultEnv, c *faultCell) seen {
			resp, body := e.owner.htmxPost(fmt.Sprintf("/accounts/%d/test", account(e).ID))
			return seen{resp.StatusCode, body}
		},
		expect: func(f faultCase) expect {
			switch {
			case f.want == outTimeout:
				return expect{http.StatusGatewayTimeout, []string{says[f.want]}}
			case f.name == "5xx":
				return expect{http.StatusBadGateway, []string{says[f.want]}}
			}
			return expect{http.StatusOK, []string{`data-testid="account-test-failed"`, `data-kind="` + string(f.kind) + `"`, testKindSays[f.kind]}}
		},
		after: func(t *testing.T, e *faultEnv, c *faultCell) {
			as := auditOf(t, e.store, models.AuditAccountTest)
			if len(as) == 0 {
				t.Fatal("the test connection is not audited")
			}
			var d struct {
				AccountID int64 `json:"account_id"`
				OK        bool
				Results   []struct{ Mid, Kind string }
			}
			if err := json.Unmarshal(as[0].Details, &d); err != nil {
				t.Fatal(err)
			}
			if len(as) != c.before+1 || d.AccountID != account(e).ID || d.OK || len(d.Results) != len(account(e).Mids) {
				t.Fatalf("audit = %d entries, newest %+v; want %d, this account, failed, a row per mid", len(as), d, c.before+1)
			}
			for _, r := range d.Results {
				if r.Kind != string(c.f.kind) {
					t.Errorf("audited mid %s failed as %q, want %q", r.Mid, r.Kind, c.f.kind)
				}
			}
		},
	}
}

// testKindSays is how a connection test's row words each failure kind.
var testKindSays = map[gateway.ErrorKind]string{
	gateway.KindTransport:    "No usable answer",
	gateway.KindBadSignature: "Signature error",
	gateway.KindRateLimited:  "Rate limited",
}

// syncOp: "Pull this day" on the sync page queues the day (a sync_day
// job, Sync.RunDay); the page's row, polled, shows the day failed and why.
// The order Ksher's report says is paid stays pending in the cache, with
// no sync entry in its timeline.
var syncOp = faultOp{name: "sync",
	setup: func(t *testing.T, e *faultEnv, c *faultCell) {
		e.paidOrder(t, c.mid, c.id)
		c.order = e.cache(t, models.OrderUpdate{AccountID: e.vip.ID, Mid: c.mid, Kind: "redirect", MchOrderNo: c.id,
			Amount: 2500, Currency: "THB", Status: models.StatusPending, Source: "link"})
	},
	act: func(t *testing.T, e *faultEnv, c *faultCell) seen {
		bkk, _ := time.LoadLocation("Asia/Bangkok")
		page := "/m/" + c.mid + "/sync"
		resp, _ := e.owner.post(page, url.Values{"csrf": {e.owner.csrf}, "day": {time.Now().In(bkk).Format(time.DateOnly)}})
		if resp.StatusCode != http.StatusSeeOther {
			return seen{resp.StatusCode, "queueing the day failed"}
		}
		return seen(e.awaitSync(t, page, c.mid))
	},
	expect: func(f faultCase) expect {
		return expect{http.StatusOK, []string{`data-status="failed"`, `data-testid="sync-job-error"`, string(f.kind)}}
	},
	after: func(t *testing.T, e *faultEnv, c *faultCell) {
		e.unchanged(t, c.order)
		js, err := e.store.SyncJobs(context.Background(), []string{c.mid}, 10)
		if err != nil || len(js) != 1 || js[0].Status != models.SyncFailed || !strings.Contains(js[0].Error, string(c.f.kind)) {
			t.Errorf("sync progress rows = %+v (%v), want the day failed with a %s error", js, err, c.f.kind)
		}
	},
}

// awaitSync polls the sync page until mid's day is no longer queued or
// running.
func (e *faultEnv) awaitSync(t *testing.T, page, mid string) seen {
	t.Helper()
	resp, body := poll(t, e.owner, page, "the day to finish", func(_ *http.Response, body string) bool {
		m := syncRowRe.FindStringSubmatch(body)
		return m != nil && m[1] == mid && m[3] != models.SyncQueued && m[3] != models.SyncRunning
	})
	return seen{resp.StatusCode, body}
}

// driftResyncOp: "Re-sync all shown" on a mid's drift page (a
// drift_resync job, DriftResyncs): the paid order no notification told us
// about is asked again. The box, polled, ends done with the order counted
// as failed; the order stays paid and unconfirmed, and its timeline shows
// the failed call.
var driftResyncOp = faultOp{name: "drift_resync",
	setup: func(t *testing.T, e *faultEnv, c *faultCell) {
		e.paidOrder(t, c.mid, c.id)
		created := time.Now().Add(-time.Hour)
		c.order = e.cache(t, models.OrderUpdate{AccountID: e.vip.ID, Mid: c.mid, Kind: "redirect", MchOrderNo: c.id,
			Amount: 2500, Currency: "THB", Status: models.StatusPaid, Source: "sync", CreatedAt: &created})
	},
	act: func(t *testing.T, e *faultEnv, c *faultCell) seen {
		page := "/m/" + c.mid + "/drift"
		resp, _ := e.owner.post(page+"/resync", url.Values{"csrf": {e.owner.csrf}})
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "resync=") {
			return seen{resp.StatusCode, "re-sync all was not queued: " + loc}
		}
		poll(t, e.owner, loc, "the re-sync to finish", func(resp *http.Response, _ string) bool { return resp.Header.Get("HX-Refresh") == "true" })
		resp, body := e.owner.get(loc)
		return seen{resp.StatusCode, body}
	},
	expect: func(f faultCase) expect {
		return expect{http.StatusOK, []string{`data-state="done" data-done="1" data-total="1"`,
			`data-asked="0" data-skipped="0" data-changed="0" data-confirmed="0" data-failed="1"`, "1 failed"}}
	},
	after: func(t *testing.T, e *faultEnv, c *faultCell) {
		e.unchanged(t, c.order)
		if at, err := e.store.PaidConfirmedAt(context.Background(), c.order.ID); err != nil || at != nil {
			t.Errorf("a failed re-sync confirmed the order paid at %v (%v)", at, err)
		}
		e.callFailed(t, c.order, "refresh", c.f)
	},
}

// paidOrder makes the sandbox hold id on mid (the v3 appid or a vip mid),
// paid, 25.00 THB, as a hosted-checkout order: Ksher's word, which a call
// that went through would bring into the cache.
func (e *faultEnv) paidOrder(t *testing.T, mid, id string) {
	t.Helper()
	c := e.vipc
	if mid == faultV3Mid {
		c = e.v3c
	}
	if _, err := c.PaymentLinks.Create(context.Background(), &gateway.PaymentLinkCreateParams{Mid: mid, MerchantOrderID: id, Amount: 2500,
		Channels: []string{"truemoney"}, RedirectURL: "https://shop.example/ok", FailRedirectURL: "https://shop.example/fail"}); err != nil {
		t.Fatal(err)
	}
	if err := e.sb.Pay(id, "truemoney"); err != nil {
		t.Fatal(err)
	}
}
