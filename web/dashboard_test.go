package web

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/models"
)

// A mid's overview shows its last seven days and latest orders, and its
// navigation lists only the pages the person's role may open.
func TestMidOverviewFiguresAndNavigation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t)
	acc, err := e.store.Accounts(ctx)
	if err != nil || len(acc) == 0 {
		t.Fatal("no account", err)
	}
	now := time.Now()
	old := now.AddDate(0, 0, -20)
	for i, o := range []struct {
		no     string
		status string
		amount int64
		at     time.Time
	}{{"A-1", models.StatusPaid, 12345, now}, {"A-2", models.StatusPaid, 100, now}, {"A-3", models.StatusPending, 999, now},
		{"A-4", models.StatusFailed, 500, now}, {"OLD-1", models.StatusPaid, 777700, old}} {
		at := o.at.Add(-time.Duration(i) * time.Minute)
		if _, _, err := e.store.UpsertOrder(ctx, models.OrderUpdate{AccountID: acc[0].ID, Mid: "mch35000", MchOrderNo: o.no,
			Status: o.status, Amount: o.amount, Currency: "THB", CreatedAt: &at, Source: "seed"}); err != nil {
			t.Fatal(err)
		}
	}
	viewer := "viewer@example.com"
	if _, err := e.store.CreateUser(ctx, models.CommandLine(), models.NewUser{Email: viewer, Password: testPassword, Role: models.RoleViewer, Mids: []string{"mch35000"}}); err != nil {
		t.Fatal(err)
	}

	c := newClient(t, e.app)
	c.login("fin@example.com", testPassword)
	_, body := c.get("/m/mch35000")
	for _, want := range []string{`data-testid="stat-paid"`, "124.45", "2 paid orders", `data-testid="dashboard-recent"`, "A-1", `data-testid="nav-nav.events"`} {
		if !strings.Contains(body, want) {
			t.Errorf("finance overview lacks %q", want)
		}
	}
	i := strings.Index(body, `data-testid="stat-paid"`)
	if i < 0 {
		t.Fatal("no paid figure")
	}
	if stat := body[i : i+200]; !strings.Contains(stat, "124.45") || strings.Contains(body, "3 paid orders") {
		t.Errorf("paid figure = %q: the order older than seven days must not count", stat)
	}

	// On every mid at once, the latest orders say whose they are.
	_, body = MustOwner(t, e).get("/m/all")
	if !strings.Contains(body, `<td class="mono" data-testid="recent-mid">mch35000</td>`) {
		t.Errorf("the overview of all mids does not name each recent order's mid")
	}

	v := newClient(t, e.app)
	v.login(viewer, testPassword)
	_, body = v.get("/m/mch35000")
	if !strings.Contains(body, `data-testid="nav-nav.orders"`) {
		t.Errorf("viewer has no link to the orders")
	}
	if strings.Contains(body, `data-testid="nav-nav.events"`) || strings.Contains(body, `data-testid="nav-nav.drift"`) {
		t.Errorf("viewer is offered pages their role may not open")
	}
}
