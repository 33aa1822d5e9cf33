package models_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/gateway/sandbox"
	"github.com/ksherdash/ksherdash/models"
)

// A link is made on both APIs with one create call: available, with the
// page's URL, stored with what Ksher does not give back, its order row
// cached with the product, audited as created. Paying it at Ksher makes it
// paid through the notification alone (no query).
func TestLinkCreateBothAPIs(t *testing.T) {
	e := newLinkEnv(t, 0.001, models.LinksConfig{})
	ctx := context.Background()
	for _, api := range []string{models.APIv3, models.APIVIP} {
		t.Run(api, func(t *testing.T) {
			l := e.create(t, api)
			if l.URL == "" || l.Product != "Blue T-shirt size M" || l.Note != "order 42" || l.CustomerRef != "CUST-7" ||
				l.Amount != 15050 || l.Currency != "THB" || l.Channels != "promptpay,truemoney" || l.APIKind != api ||
				l.CreatedBy == nil || *l.CreatedBy != e.owner.ID || l.OrderID == nil {
				t.Fatalf("link = %+v", l)
			}
			if life := l.ExpiresAt.Sub(l.CreatedAt); life < models.DefaultLinkLifetime-2*time.Minute || life > models.DefaultLinkLifetime {
				t.Errorf("default lifetime %v, want about 24 h", life)
			}
			if n := e.sb.Calls(createOp(api)); n != 1 {
				t.Errorf("%s called %d times, want 1", createOp(api), n)
			}
			if n := e.atSandbox(l.MchOrderNo); n != 1 {
				t.Errorf("sandbox holds %d orders %s, want 1", n, l.MchOrderNo)
			}
			o, err := e.store.FindOrder(ctx, []string{l.Mid}, *l.OrderID)
			if err != nil {
				t.Fatal(err)
			}
			wantKind := map[string]string{models.APIv3: models.OrderKindLink, models.APIVIP: "redirect"}[api]
			if o.Kind != wantKind || o.Product != l.Product || o.Amount != 15050 || o.MchOrderNo != l.MchOrderNo {
				t.Errorf("order = kind %q product %q amount %d no %s", o.Kind, o.Product, o.Amount, o.MchOrderNo)
			}
			audits := e.linkAudits(t, l.MchOrderNo)
			if len(audits) != 1 || !auditSays(t, audits[0], "action", "created") || audits[0].ActorEmail != e.owner.Email {
				t.Errorf("audit = %+v", audits)
			}
		})
	}
	// The v3 page is paid: the notification (to our mch_notify_url) alone
	// makes the link paid; the order keeps its product.
	l := e.create(t, models.APIv3)
	queries := e.sb.Calls(queryOp(models.APIv3))
	if err := e.sb.Pay(l.MchOrderNo, "promptpay"); err != nil {
		t.Fatal(err)
	}
	paid := e.waitLink(t, l.ID, 10*time.Second, "the v3 link paid by its notification", func(l *models.Link) bool { return l.State == models.LinkPaid })
	if paid.PaidAt == nil || paid.PaidAfterClose || paid.KsherMayAccept {
		t.Errorf("paid link = %+v", paid)
	}
	if n := e.sb.Calls(queryOp(models.APIv3)); n != queries {
		t.Errorf("the payment asked Ksher %d times; the notification should be enough", n-queries)
	}
	o, _ := e.store.FindOrder(ctx, []string{l.Mid}, *l.OrderID)
	if o.Status != models.StatusPaid || o.Product != l.Product || o.Channel != "promptpay" {
		t.Errorf("paid order = %s %q %s", o.Status, o.Product, o.Channel)
	}
}

func auditSays(t *testing.T, a models.AuditEntry, key, want string) bool {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal(a.Details, &d); err != nil {
		t.Fatal(err)
	}
	return d[key] == want
}

// One form number makes one link: submitted again (a double click, a
// replayed POST) and eight times at once, it gives the same link back and
// Ksher is asked to create it once.
func TestLinkDoubleSubmitMakesOneLink(t *testing.T) {
	e := newLinkEnv(t, 0.001, models.LinksConfig{})
	ctx := context.Background()
	for _, api := range []string{models.APIv3, models.APIVIP} {
		a := e.access(t, e.owner, e.mid(api))
		f := e.form(t, api)
		if again := e.form(t, api); again.OrderNo != f.OrderNo {
			t.Fatalf("form number changed from %s to %s before use", f.OrderNo, again.OrderNo)
		}
		before := e.sb.Calls(createOp(api))
		var wg sync.WaitGroup
		got := make(chan *models.Link, 8)
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				l, err := e.links.Create(ctx, e.actor, a, linkRequest(f))
				if err != nil {
					t.Error(err)
					return
				}
				got <- l
			}()
		}
		wg.Wait()
		close(got)
		ids := map[int64]bool{}
		for l := range got {
			ids[l.ID] = true
		}
		again, err := e.links.Create(ctx, e.actor, a, linkRequest(f))
		if err != nil {
			t.Fatal(err)
		}
		ids[again.ID] = true
		if len(ids) != 1 || e.sb.Calls(createOp(api))-before != 1 || e.atSandbox(f.OrderNo) != 1 {
			t.Errorf("%s: links %v, %d creates, %d at the sandbox; want one of each", api, ids, e.sb.Calls(createOp(api))-before, e.atSandbox(f.OrderNo))
		}
		if next := e.form(t, api); next.OrderNo == f.OrderNo {
			t.Errorf("%s: the next form reuses the spent number %s", api, f.OrderNo)
		}
	}
}

// A create whose answer is lost (the sandbox makes the link, then times
// out) is followed by one query by its number, never a second create:
// exactly one link at Ksher, and ours is available.
func TestLinkCreateTimeoutQueriesByNumber(t *testing.T) {
	e := newLinkEnv(t, 0.001, models.LinksConfig{})
	ctx := context.Background()
	for _, api := range []string{models.APIv3, models.APIVIP} {
		t.Run(api, func(t *testing.T) {
			f := e.form(t, api)
			if _, err := e.sb.AddFault(sandbox.Fault{Op: createOp(api), Kind: sandbox.FaultTimeout, Next: 1, Processed: true, LatencyMS: 3000}); err != nil {
				t.Fatal(err)
			}
			creates, queries := e.sb.Calls(createOp(api)), e.sb.Calls(queryOp(api))
			l, err := e.links.Create(ctx, e.actor, e.access(t, e.owner, e.mid(api)), linkRequest(f))
			if err != nil {
				t.Fatal(err)
			}
			if l.State != models.LinkAvailable || l.OrderID == nil {
				t.Errorf("link after a lost answer = %s (%s), want available with its order", l.State, l.Error)
			}
			if api == models.APIVIP && l.URL == "" {
				t.Errorf("vip query gives the page's URL; link has none")
			}
			if c, q := e.sb.Calls(createOp(api))-creates, e.sb.Calls(queryOp(api))-queries; c != 1 || q != 1 {
				t.Errorf("%d creates and %d queries, want 1 and 1", c, q)
			}
			if n := e.atSandbox(f.OrderNo); n != 1 {
				t.Errorf("sandbox holds %d links %s, want 1", n, f.OrderNo)
			}
		})
	}
}

// Cancelling a v3 link closes it at Ksher: the sandbox refuses a payment
// on it; ours is cancelled without the flag, audited, its order closed.
func TestLinkCancelV3ClosesAtKsher(t *testing.T) {
	e := newLinkEnv(t, 0.001, models.LinksConfig{})
	ctx := context.Background()
	l := e.create(t, models.APIv3)
	a := e.access(t, e.owner, linkV3Mid)
	c, err := e.links.Cancel(ctx, e.actor, a, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.State != models.LinkCancelled || c.KsherMayAccept || c.ClosedAt == nil {
		t.Fatalf("cancelled link = %+v", c)
	}
	if e.sb.Calls(cancelOp(models.APIv3)) != 1 {
		t.Errorf("cancel_order called %d times", e.sb.Calls(cancelOp(models.APIv3)))
	}
	if err := e.sb.Pay(l.MchOrderNo, "promptpay"); err == nil {
		t.Errorf("the sandbox took a payment on a cancelled link")
	}
	if o, _ := e.store.FindOrder(ctx, []string{l.Mid}, *l.OrderID); o.Status != models.StatusClosed {
		t.Errorf("order is %s, want closed", o.Status)
	}
	if au := e.linkAudits(t, l.MchOrderNo); len(au) != 2 || !auditSays(t, au[0], "action", "cancelled") || !auditSays(t, au[0], "ksher", "closed") {
		t.Errorf("audit = %+v", au)
	}
	// Again: the same cancelled link, no second call.
	if again, err := e.links.Cancel(ctx, e.actor, a, l.ID); err != nil || again.State != models.LinkCancelled || e.sb.Calls(cancelOp(models.APIv3)) != 1 {
		t.Errorf("second cancel = %+v, %v", again, err)
	}
}

// A vip cancel Ksher refuses (a 502 on the DELETE) cancels the link here
// anyway, flagged "Ksher may still accept a payment". A payment that then
// comes (the webhook, and its query) is recorded as paid and raises the
// drift flag, which the drift filter lists.
func TestLinkCancelRefusedThenPaidRaisesDrift(t *testing.T) {
	t.Parallel() // mostly waits for the webhook's retries
	// Real retry delays: a webhook within 10 s of Ksher's last answer is
	// asked to come again, and Ksher's retries come every 5 s.
	e := newLinkEnv(t, 1, models.LinksConfig{})
	ctx := context.Background()
	l := e.create(t, models.APIVIP)
	if _, err := e.sb.AddFault(sandbox.Fault{Op: "vip.redirect.cancel", Kind: sandbox.Fault5xx, Status: 502, Next: 1}); err != nil {
		t.Fatal(err)
	}
	c, err := e.links.Cancel(ctx, e.actor, e.access(t, e.owner, linkVIPMid), l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.State != models.LinkCancelled || !c.KsherMayAccept || c.ErrorCode == "" {
		t.Fatalf("refused cancel = %+v, want cancelled with the flag", c)
	}
	if au := e.linkAudits(t, l.MchOrderNo); len(au) != 2 || !auditSays(t, au[0], "ksher", "unclear") {
		t.Errorf("audit = %+v", au)
	}
	if err := e.sb.Pay(l.MchOrderNo, "promptpay"); err != nil {
		t.Fatalf("the sandbox (which never closed it) refused the payment: %v", err)
	}
	p := e.waitLink(t, l.ID, 40*time.Second, "the late payment recorded", func(l *models.Link) bool { return l.State == models.LinkPaid })
	if !p.PaidAfterClose || p.KsherMayAccept || p.PaidAt == nil {
		t.Errorf("paid after cancel = %+v, want the drift flag", p)
	}
	page, err := e.store.ListLinks(ctx, models.LinkFilter{Mids: []string{linkVIPMid, linkV3Mid}, PaidAfterClose: true})
	if err != nil || len(page.Rows) != 1 || page.Rows[0].ID != l.ID {
		t.Errorf("drift list = %+v, %v", page, err)
	}
}

// A clone has every field of its source but the number (and a new expiry
// of the same lifetime), is a new link at Ksher, and is audited as cloned.
func TestLinkCloneCopiesAllButTheNumber(t *testing.T) {
	e := newLinkEnv(t, 0.001, models.LinksConfig{})
	ctx := context.Background()
	for _, api := range []string{models.APIv3, models.APIVIP} {
		a := e.access(t, e.owner, e.mid(api))
		f := e.form(t, api)
		req := linkRequest(f)
		req.ExpiresAt = time.Now().Add(3 * time.Hour)
		req.SuccessURL, req.FailURL = "https://shop.example/thanks", "https://shop.example/sorry"
		src, err := e.links.Create(ctx, e.actor, a, req)
		if err != nil {
			t.Fatal(err)
		}
		nf := e.form(t, api)
		c, err := e.links.Clone(ctx, e.actor, a, src.ID, nf.OrderNo)
		if err != nil {
			t.Fatal(err)
		}
		if c.ID == src.ID || c.MchOrderNo == src.MchOrderNo || c.MchOrderNo != nf.OrderNo || c.State != models.LinkAvailable ||
			c.Amount != src.Amount || c.Currency != src.Currency || c.Product != src.Product || c.Channels != src.Channels ||
			c.Note != src.Note || c.CustomerRef != src.CustomerRef || c.SuccessURL != src.SuccessURL || c.FailURL != src.FailURL ||
			c.ClonedFrom == nil || *c.ClonedFrom != src.ID || c.URL == "" || c.URL == src.URL {
			t.Errorf("%s: clone = %+v\nof %+v", api, c, src)
		}
		if d := c.ExpiresAt.Sub(c.CreatedAt) - src.ExpiresAt.Sub(src.CreatedAt); d.Abs() > time.Minute {
			t.Errorf("%s: clone lifetime differs by %v", api, d)
		}
		if e.atSandbox(c.MchOrderNo) != 1 {
			t.Errorf("%s: clone not at the sandbox", api)
		}
		if au := e.linkAudits(t, c.MchOrderNo); len(au) != 1 || !auditSays(t, au[0], "action", "cloned") || !auditSays(t, au[0], "cloned_from", src.MchOrderNo) {
			t.Errorf("%s: clone audit = %+v", api, au)
		}
	}
}

// The periodic expiry job (a real River job) expires a link past its
// expiry (the store's clock moved on) and closes it at Ksher: the vip
// link's flag goes once its DELETE succeeds, and the sandbox refuses a
// payment on either.
func TestLinkExpiryJob(t *testing.T) {
	e := newLinkEnv(t, 0.001, models.LinksConfig{ExpireEvery: 200 * time.Millisecond})
	ctx := context.Background()
	var ls []*models.Link
	for _, api := range []string{models.APIv3, models.APIVIP} {
		f := e.form(t, api)
		req := linkRequest(f)
		req.ExpiresAt = time.Now().Add(5 * time.Minute)
		l, err := e.links.Create(ctx, e.actor, e.access(t, e.owner, e.mid(api)), req)
		if err != nil || l.State != models.LinkAvailable {
			t.Fatalf("%+v, %v", l, err)
		}
		ls = append(ls, l)
	}
	time.Sleep(500 * time.Millisecond)
	for _, l := range ls {
		if got := e.link(t, l.ID); got.State != models.LinkAvailable {
			t.Fatalf("link %s is %s before its expiry", l.MchOrderNo, got.State)
		}
	}
	e.clock.ahead = 6 * time.Minute
	for _, l := range ls {
		x := e.waitLink(t, l.ID, 10*time.Second, "expired and closed at Ksher", func(l *models.Link) bool {
			if l.State != models.LinkExpired || l.KsherMayAccept {
				return false
			}
			o, err := e.store.FindOrder(ctx, []string{l.Mid}, *l.OrderID)
			return err == nil && o.Status == models.StatusClosed // the close job's answer recorded
		})
		if x.ClosedAt == nil {
			t.Errorf("expired link = %+v", x)
		}
		if e.sb.Calls(cancelOp(l.APIKind)) != 1 {
			t.Errorf("%s: %s called %d times, want 1", l.APIKind, cancelOp(l.APIKind), e.sb.Calls(cancelOp(l.APIKind)))
		}
		if err := e.sb.Pay(l.MchOrderNo, "promptpay"); err == nil {
			t.Errorf("%s: the sandbox took a payment on an expired link", l.APIKind)
		}
		au := e.linkAudits(t, l.MchOrderNo)
		if len(au) != 2 || !auditSays(t, au[0], "action", "expired") || au[0].ActorEmail != models.LinkExpiry().Email {
			t.Errorf("%s: audit = %+v", l.APIKind, au)
		}
	}
}

// Bad input names its field and calls nothing at Ksher: no create, no
// query, no cancel.
func TestLinkBadInputCallsNothing(t *testing.T) {
	e := newLinkEnv(t, 0.001, models.LinksConfig{})
	ctx := context.Background()
	now := time.Now()
	cases := []struct {
		api, name, field, id string
		edit                 func(*models.LinkRequest)
	}{
		{models.APIv3, "zero amount", "amount", "link.amount_zero", func(r *models.LinkRequest) { r.Amount = "0.00" }},
		{models.APIv3, "float-like amount", "amount", "link.amount_invalid", func(r *models.LinkRequest) { r.Amount = "1.005" }},
		{models.APIv3, "above the channel's single-order limit", "amount", "link.amount_above_limit", func(r *models.LinkRequest) { r.Amount = "100,000.01" }},
		{models.APIv3, "no channel", "channels", "link.channel_required", func(r *models.LinkRequest) { r.Channels = nil }},
		{models.APIv3, "a channel the mid lacks", "channels", "link.channel_unknown", func(r *models.LinkRequest) { r.Channels = []string{"kplus"} }},
		{models.APIv3, "expiry in the past", "expires_at", "link.expiry_past", func(r *models.LinkRequest) { r.ExpiresAt = now.Add(-time.Hour) }},
		{models.APIv3, "expiry beyond 30 days", "expires_at", "link.expiry_too_far", func(r *models.LinkRequest) { r.ExpiresAt = now.Add(31 * 24 * time.Hour) }},
		{models.APIv3, "no product", "product", "link.product_required", func(r *models.LinkRequest) { r.Product = "  " }},
		{models.APIv3, "a page that is not http(s)", "success_url", "link.url_invalid", func(r *models.LinkRequest) { r.SuccessURL = "javascript:alert(1)" }},
		{models.APIv3, "a forged number", "order_no", "link.form_stale", func(r *models.LinkRequest) { r.OrderNo = "PL2222222222222222222" }},
		{models.APIv3, "another person's number", "order_no", "link.form_stale", func(r *models.LinkRequest) { r.OrderNo = "PL" + "23456789ABCDEFGHJK" }},
		{models.APIVIP, "vip product with &", "product", "link.product_plain_english", func(r *models.LinkRequest) { r.Product = "Tea & cake" }},
		{models.APIVIP, "vip product in Thai", "product", "link.product_plain_english", func(r *models.LinkRequest) { r.Product = "เสื้อยืด" }},
	}
	for _, api := range []string{models.APIv3, models.APIVIP} {
		e.form(t, api) // the channel list is cached: what follows calls nothing
	}
	e.sb.ResetCalls()
	for _, c := range cases {
		f := e.form(t, c.api)
		req := linkRequest(f)
		c.edit(&req)
		l, err := e.links.Create(ctx, e.actor, e.access(t, e.owner, e.mid(c.api)), req)
		if got := reasonOf(err, c.field); got != c.id || l != nil {
			t.Errorf("%s: %v (link %v), want %s on %s", c.name, err, l, c.id, c.field)
		}
	}
	for _, op := range []string{"gateway_pay", "gateway_order_query", "cancel_order", "merchant_info", "vip.redirect.create",
		"vip.redirect.query", "vip.finance.channels"} {
		if n := e.sb.Calls(op); n != 0 {
			t.Errorf("bad input called %s %d times", op, n)
		}
	}
	if page, _ := e.store.ListLinks(ctx, models.LinkFilter{Mids: []string{linkV3Mid, linkVIPMid}}); len(page.Rows) != 0 {
		t.Errorf("bad input stored %d links", len(page.Rows))
	}
}

// The role matrix decides in the service: a viewer may do nothing, support
// may create but not cancel.
func TestLinkRoles(t *testing.T) {
	e := newLinkEnv(t, 0.001, models.LinksConfig{})
	ctx := context.Background()
	viewer := MustPerson(t, e.store, "viewer@example.com", false, map[string]string{linkV3Mid: models.RoleViewer})
	va := e.access(t, viewer, linkV3Mid)
	if _, err := e.links.Form(ctx, models.ActorOf(viewer, "", "", ""), va); !errors.Is(err, models.ErrLinkNotAllowed) {
		t.Errorf("viewer form: %v", err)
	}
	if _, err := e.links.Create(ctx, models.ActorOf(viewer, "", "", ""), va, models.LinkRequest{Amount: "1"}); !errors.Is(err, models.ErrLinkNotAllowed) {
		t.Errorf("viewer create: %v", err)
	}
	support := MustPerson(t, e.store, "support@example.com", false, map[string]string{linkV3Mid: models.RoleSupport})
	sa, sActor := e.access(t, support, linkV3Mid), models.ActorOf(support, "", "", "")
	f, err := e.links.Form(ctx, sActor, sa)
	if err != nil {
		t.Fatal(err)
	}
	l, err := e.links.Create(ctx, sActor, sa, linkRequest(f))
	if err != nil || l.State != models.LinkAvailable {
		t.Fatalf("support create: %+v, %v", l, err)
	}
	if _, err := e.links.Cancel(ctx, sActor, sa, l.ID); !errors.Is(err, models.ErrLinkCancelNotAllowed) {
		t.Errorf("support cancel: %v", err)
	}
	if e.sb.Calls("cancel_order") != 0 || e.link(t, l.ID).State != models.LinkAvailable {
		t.Errorf("a refused cancel reached Ksher or changed the link")
	}
}

// The list is newest first, filtered by state, and pages by keyset.
func TestListLinksPages(t *testing.T) {
	e := newLinkEnv(t, 0.001, models.LinksConfig{})
	ctx := context.Background()
	var ids []int64
	for range 27 {
		ids = append(ids, e.create(t, models.APIVIP).ID)
	}
	if _, err := e.links.Cancel(ctx, e.actor, e.access(t, e.owner, linkVIPMid), ids[0]); err != nil {
		t.Fatal(err)
	}
	f := models.LinkFilter{Mids: []string{linkVIPMid}}
	p1, err := e.store.ListLinks(ctx, f)
	if err != nil || len(p1.Rows) != 25 || p1.Next == "" || p1.Rows[0].ID != ids[26] {
		t.Fatalf("page 1: %d rows, next %q, first %d; %v", len(p1.Rows), p1.Next, p1.Rows[0].ID, err)
	}
	f.Before = p1.Next
	p2, err := e.store.ListLinks(ctx, f)
	if err != nil || len(p2.Rows) != 2 || p2.Next != "" || p2.Rows[1].ID != ids[0] {
		t.Fatalf("page 2: %+v, %v", p2, err)
	}
	c, err := e.store.ListLinks(ctx, models.LinkFilter{Mids: []string{linkVIPMid}, States: []string{models.LinkCancelled}})
	if err != nil || len(c.Rows) != 1 || c.Rows[0].ID != ids[0] {
		t.Errorf("cancelled: %+v, %v", c, err)
	}
	if _, err := e.store.ListLinks(ctx, models.LinkFilter{Mids: []string{linkVIPMid}, Before: "zz!"}); models.ErrorCode(err) != models.EINVALID {
		t.Errorf("bad cursor: %v", err)
	}
	if _, err := e.store.FindLink(ctx, []string{linkV3Mid}, ids[0]); models.ErrorCode(err) != models.ENOTFOUND {
		t.Errorf("a link of a mid not held: %v", err)
	}
}

// The mid's channel list comes from Ksher once, then from our database
// for an hour; after that Ksher is asked again, and when it cannot answer
// the stored list is used.
func TestLinkChannelsCachedPerMid(t *testing.T) {
	e := newLinkEnv(t, 0.001, models.LinksConfig{})
	ctx := context.Background()
	for api, op := range map[string]string{models.APIv3: "merchant_info", models.APIVIP: "vip.finance.channels"} {
		a := e.access(t, e.owner, e.mid(api))
		e.clock.ahead = 0
		first, err := e.links.Channels(ctx, a)
		if err != nil || len(first) == 0 {
			t.Fatalf("%s: %v, %v", api, first, err)
		}
		if api == models.APIv3 && first[0].SingleOrderLimit <= 0 {
			t.Errorf("v3 channels carry merchant_info's limits: %+v", first)
		}
		e.clock.ahead = 59 * time.Minute
		if _, err := e.links.Channels(ctx, a); err != nil || e.sb.Calls(op) != 1 {
			t.Errorf("%s: within the hour %s called %d times, want 1 (%v)", api, op, e.sb.Calls(op), err)
		}
		e.clock.ahead = 61 * time.Minute
		if _, err := e.links.Channels(ctx, a); err != nil || e.sb.Calls(op) != 2 {
			t.Errorf("%s: after the hour %s called %d times, want 2 (%v)", api, op, e.sb.Calls(op), err)
		}
		e.clock.ahead = 3 * time.Hour
		if _, err := e.sb.AddFault(sandbox.Fault{Op: op, Kind: sandbox.Fault5xx, Next: 1}); err != nil {
			t.Fatal(err)
		}
		if stale, err := e.links.Channels(ctx, a); err != nil || len(stale) != len(first) {
			t.Errorf("%s: Ksher down: %v, %v; want the stored list", api, stale, err)
		}
	}
}

// A link and its audit entry commit together: when the entry cannot be
// written, there is no link, Ksher is not asked, and the form's number is
// still the person's (submitting it again works once the log does).
func TestLinkCreateRollsBackWhenTheAuditFails(t *testing.T) {
	e := newLinkEnv(t, 0.001, models.LinksConfig{})
	ctx := context.Background()
	f := e.form(t, models.APIv3)
	e.sb.ResetCalls()
	failAudit(t, e.store)
	if l, err := e.links.Create(ctx, e.actor, e.access(t, e.owner, linkV3Mid), linkRequest(f)); err == nil {
		t.Fatalf("created %+v with the audit failing", l)
	}
	if page, _ := e.store.ListLinks(ctx, models.LinkFilter{Mids: []string{linkV3Mid}}); len(page.Rows) != 0 || e.sb.Calls("gateway_pay") != 0 {
		t.Fatalf("%d links, %d creates after a failed audit", len(page.Rows), e.sb.Calls("gateway_pay"))
	}
	if err := e.store.ExecForBench(ctx, "DROP TRIGGER test_audit_fails ON audit_log"); err != nil {
		t.Fatal(err)
	}
	if again := e.form(t, models.APIv3); again.OrderNo != f.OrderNo {
		t.Errorf("the form's number changed after a rolled-back create")
	}
	if l, err := e.links.Create(ctx, e.actor, e.access(t, e.owner, linkV3Mid), linkRequest(f)); err != nil || l.State != models.LinkAvailable {
		t.Errorf("retry: %+v, %v", l, err)
	}
}

// What the create's caller could not learn, the resolve job (a real River
// job, ResolveAfter later) learns by asking for the number, never by
// creating again: a create lost before Ksher made it (a timeout, not
// processed) becomes failed; one made but whose query failed too becomes
// available.
func TestLinkResolveJob(t *testing.T) {
	e := newLinkEnv(t, 0.001, models.LinksConfig{ResolveAfter: 300 * time.Millisecond})
	ctx := context.Background()
	for _, api := range []string{models.APIv3, models.APIVIP} {
		t.Run(api, func(t *testing.T) {
			t.Parallel() // the two APIs' operations and faults are apart
			a := e.access(t, e.owner, e.mid(api))
			creates := e.sb.Calls(createOp(api))
			// Lost before it was made.
			f := e.form(t, api)
			if _, err := e.sb.AddFault(sandbox.Fault{Op: createOp(api), Kind: sandbox.FaultTimeout, Next: 1, LatencyMS: 3000}); err != nil {
				t.Fatal(err)
			}
			// The sandbox holds the call 3 s, past ResolveAfter: the create's
			// own query may already decide.
			lost, err := e.links.Create(ctx, e.actor, a, linkRequest(f))
			if err != nil || (lost.State != models.LinkCreating && lost.State != models.LinkFailed) {
				t.Fatalf("lost create = %+v, %v; want creating or failed", lost, err)
			}
			failed := e.waitLink(t, lost.ID, 10*time.Second, "the lost link resolved", func(l *models.Link) bool { return l.State != models.LinkCreating })
			if failed.State != models.LinkFailed || failed.ErrorCode == "" || e.atSandbox(f.OrderNo) != 0 {
				t.Errorf("lost link = %+v (%d at the sandbox), want failed, none made", failed, e.atSandbox(f.OrderNo))
			}
			// Made, but neither the create's answer nor the first query came back.
			f = e.form(t, api)
			if _, err := e.sb.AddFault(sandbox.Fault{Op: createOp(api), Kind: sandbox.FaultTimeout, Next: 1, Processed: true, LatencyMS: 3000}); err != nil {
				t.Fatal(err)
			}
			if _, err := e.sb.AddFault(sandbox.Fault{Op: queryOp(api), Kind: sandbox.Fault5xx, Next: 1}); err != nil {
				t.Fatal(err)
			}
			made, err := e.links.Create(ctx, e.actor, a, linkRequest(f))
			if err != nil || made.State != models.LinkCreating {
				t.Fatalf("unclear create = %+v, %v; want creating", made, err)
			}
			ok := e.waitLink(t, made.ID, 25*time.Second, "the made link resolved", func(l *models.Link) bool { return l.State != models.LinkCreating })
			if ok.State != models.LinkAvailable || ok.OrderID == nil || e.atSandbox(f.OrderNo) != 1 {
				t.Errorf("made link = %+v (%d at the sandbox), want available, one made", ok, e.atSandbox(f.OrderNo))
			}
			if n := e.sb.Calls(createOp(api)) - creates; n != 2 {
				t.Errorf("%d creates for two links, want 2 (never sent again)", n)
			}
		})
	}
}

// Cancelling a link Ksher has been paid on (its notification lost):
// Ksher refuses, the order cache asks it, and the link is paid, not
// cancelled, with no drift flag.
func TestLinkCancelOfAPaidLinkFindsThePayment(t *testing.T) {
	t.Parallel() // mostly waits out Ksher's 10-second rule
	e := newLinkEnv(t, 0.001, models.LinksConfig{})
	ctx := context.Background()
	l := e.create(t, models.APIv3)
	e.hooksDown.Store(true) // every delivery of the notification fails
	if err := e.sb.Pay(l.MchOrderNo, "promptpay"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(models.QueryGap + 500*time.Millisecond) // the order cache may ask again
	c, err := e.links.Cancel(ctx, e.actor, e.access(t, e.owner, linkV3Mid), l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.State != models.LinkPaid || c.PaidAfterClose || c.KsherMayAccept {
		t.Errorf("cancel of a paid link = %+v, want paid, no flags", c)
	}
	if au := e.linkAudits(t, l.MchOrderNo); len(au) != 1 {
		t.Errorf("audit = %+v, want the create only", au)
	}
}

// A vip link past its expiry whose DELETE Ksher keeps refusing stays
// flagged "Ksher may still accept a payment"; a payment that then comes
// is recorded as paid with the drift flag, and the close job stops.
func TestLinkPaidAfterExpiryRaisesDrift(t *testing.T) {
	t.Parallel() // mostly waits for the vip webhook's retries
	e := newLinkEnv(t, 1, models.LinksConfig{ExpireEvery: 200 * time.Millisecond})
	ctx := context.Background()
	f := e.form(t, models.APIVIP)
	req := linkRequest(f)
	req.ExpiresAt = time.Now().Add(5 * time.Minute)
	l, err := e.links.Create(ctx, e.actor, e.access(t, e.owner, linkVIPMid), req)
	if err != nil || l.State != models.LinkAvailable {
		t.Fatalf("%+v, %v", l, err)
	}
	if _, err := e.sb.AddFault(sandbox.Fault{Op: "vip.redirect.cancel", Kind: sandbox.Fault5xx, Status: 503}); err != nil {
		t.Fatal(err)
	}
	e.clock.ahead = 6 * time.Minute
	x := e.waitLink(t, l.ID, 10*time.Second, "expired", func(l *models.Link) bool { return l.State == models.LinkExpired })
	if !x.KsherMayAccept {
		t.Errorf("expired vip link before its DELETE = %+v, want the flag", x)
	}
	waitFor(t, 10*time.Second, "a refused DELETE", func() bool { return e.sb.Calls("vip.redirect.cancel") > 0 })
	if err := e.sb.Pay(l.MchOrderNo, "promptpay"); err != nil {
		t.Fatalf("the sandbox refused the payment: %v", err)
	}
	p := e.waitLink(t, l.ID, 40*time.Second, "the late payment recorded", func(l *models.Link) bool { return l.State == models.LinkPaid })
	if !p.PaidAfterClose || p.KsherMayAccept {
		t.Errorf("paid after expiry = %+v, want the drift flag only", p)
	}
}
