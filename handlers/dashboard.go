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
	access, err := h.store.Access(c.UserContext(), v.User)
	if err != nil {
		return err
	}
	if len(access) > 0 {
		to := access[0].Mid.Mid
		for _, a := range access {
			if a.Mid.Mid == v.User.LastMid {
				to = a.Mid.Mid
			}
		}
		if v.User.LastMid == "all" && len(access) > 1 {
			to = "all"
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
	loc := h.zoneFor(sc.Access, sc.Mids()...)
	now := time.Now().In(loc)
	since := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc).AddDate(0, 0, -6)
	st, err := h.store.OrderStatsSince(ctx, sc.Mids(), since)
	if err != nil {
		return err
	}
	page, err := h.orders().ListOrdersPage(ctx, models.OrderFilter{Mids: sc.Mids(), Limit: 25})
	if err != nil {
		return err
	}
	vm.Stats = &views.DashboardStats{Since: since.Format("2006-01-02"), Zone: loc.String(),
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
		vm.Recent = append(vm.Recent, orderRow(&page.Rows[i], loc))
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
	vm := views.DashboardVM{Name: v.User.Name, SignedInAt: h.formatTime(v.Session.CreatedAt)}
	if vm.Name == "" {
		vm.Name = v.User.Email
	}
	if sc := ScopeOf(c); sc != nil {
		vm.Mid = sc.Mid
		for _, a := range sc.Access {
			vm.Mids = append(vm.Mids, views.MidRole{Mid: a.Mid.Mid, Label: a.Mid.Label(), Role: a.Role, URL: "/m/" + a.Mid.Mid})
		}
	}
	return vm
}
