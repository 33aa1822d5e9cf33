package handlers

import (
	"sort"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

// HomeShow handles GET /: opens the mid the person worked on last (or their
// first), or explains that they have none yet.
func (h *Handler) HomeShow(c *fiber.Ctx) error {
	v := ViewerOf(c)
	access, err := h.scopes.Access(c.UserContext(), v.User)
	if err != nil {
		return err
	}
	if len(access.Mids) > 0 {
		to := access.Mids[0].Mid.Mid
		if access.Held(v.User.LastMid) != nil {
			to = v.User.LastMid
		}
		if v.User.LastMid == models.AllMids && len(access.Mids) > 1 {
			to = models.AllMids
		}
		return c.Redirect("/m/"+to, fiber.StatusSeeOther)
	}
	return render(c, fiber.StatusOK, views.DashboardPage(h.layout(c, "dashboard.title"), h.dashboardVM(c)))
}

// DashboardShow handles GET /m/:mid: the mid's last seven days at a glance
// and its latest orders.
func (h *Handler) DashboardShow(c *fiber.Ctx) error {
	vm := h.dashboardVM(c)
	sc := ScopeOf(c)
	ctx := c.UserContext()
	loc := h.pageZone(sc) // the days counted; each recent order in its own mid's zone
	now := time.Now().In(loc)
	since := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc).AddDate(0, 0, -6)
	st, err := h.orderReads.OrderStatsSince(ctx, sc.Mids(), since)
	if err != nil {
		return err
	}
	page, err := h.orderReads.ListOrdersPage(ctx, models.OrderFilter{Mids: sc.Mids(), Limit: 25})
	if err != nil {
		return err
	}
	vm.Stats = &views.DashboardStats{Since: views.Moment{T: since, Zone: loc},
		Paid: st.Paid, Open: st.Open, Failed: st.Failed}
	for _, cur := range sortedKeys(st.PaidTotal) {
		vm.Stats.PaidTotal = append(vm.Stats.PaidTotal, views.Money{Minor: st.PaidTotal[cur], Currency: cur})
		if st.Refunded[cur] > 0 {
			vm.Stats.Refunded = append(vm.Stats.Refunded, views.Money{Minor: st.Refunded[cur], Currency: cur})
		}
	}
	for i := range page.Rows {
		if i == 8 {
			break
		}
		vm.Recent = append(vm.Recent, orderRow(&page.Rows[i], h.midZone(sc.Access, page.Rows[i].Mid)))
	}
	vm.OrdersURL = "/m/" + sc.Mid + "/orders"
	return render(c, fiber.StatusOK, views.DashboardPage(h.layout(c, "dashboard.title"), vm))
}

func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (h *Handler) dashboardVM(c *fiber.Ctx) views.DashboardVM {
	v := ViewerOf(c)
	// The sign-in is shown in the zone of the page (and of its footer): the
	// mid's account's, or the configured one without a mid.
	vm := views.DashboardVM{Name: v.User.Name, SignedInAt: h.configured(v.Session.CreatedAt)}
	if vm.Name == "" {
		vm.Name = v.User.Email
	}
	if sc := ScopeOf(c); sc != nil {
		vm.Mid = sc.Mid
		vm.SignedInAt.Zone = h.pageZone(sc)
		for _, a := range sc.Access.Mids {
			vm.Mids = append(vm.Mids, views.MidRole{Mid: a.Mid.Mid, Label: a.Mid.Label(), Role: a.Role, URL: "/m/" + a.Mid.Mid})
		}
	}
	return vm
}
