package handlers

import (
	"github.com/gofiber/fiber/v2"

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

// DashboardShow handles GET /m/:mid.
func (h *Handler) DashboardShow(c *fiber.Ctx) error {
	return render(c, fiber.StatusOK, views.DashboardPage(h.layout(c, "dashboard.title"), h.dashboardVM(c)))
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
