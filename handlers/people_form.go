package handlers

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/models/money"
	"github.com/ksherdash/ksherdash/views"
)

// The people pages: shared parsing, view models and audit records. The
// rules (who may see, grant, disable whom) are in models/people.go.

// personID parses :id; anything but a positive number is not found.
func personID(c *fiber.Ctx) (int64, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fiber.ErrNotFound
	}
	return id, nil
}

func personPath(id int64) string { return "/people/" + strconv.FormatInt(id, 10) }

// personInput reads the form. Every role_<mid> field is taken, also for
// mids the form did not offer: models refuses those, rather than this
// silently dropping them.
func personInput(c *fiber.Ctx) models.PersonInput {
	in := models.PersonInput{Email: c.FormValue("email"), Name: c.FormValue("name"), Owner: c.FormValue("owner") == "1"}
	c.Request().PostArgs().VisitAll(func(k, v []byte) {
		mid, ok := strings.CutPrefix(string(k), "role_")
		if !ok {
			return
		}
		in.Grants = append(in.Grants, models.GrantInput{Mid: mid, Role: string(v),
			RefundCap: c.FormValue("cap_" + mid), SameDayOnly: c.FormValue("sameday_"+mid) == "1"})
	})
	return in
}

// personForm builds the form: one row per mid the viewer may grant on,
// filled from the person's grants (edit) or the submitted form.
func (h *Handler) personForm(c *fiber.Ctx, p *models.Person, in *models.PersonInput) (views.PersonFormVM, error) {
	v := ViewerOf(c)
	mids, err := h.people.GrantableMids(c.UserContext(), v.User)
	if err != nil {
		return views.PersonFormVM{}, err
	}
	vm := views.PersonFormVM{New: p == nil, Action: "/people", CanSetOwner: v.User.IsOwner}
	byMid := map[string]models.GrantInput{}
	if p != nil {
		vm.ID, vm.Email, vm.Name, vm.Owner = p.ID, p.Email, p.Name, p.IsOwner
		vm.Action = personPath(p.ID)
		vm.Self, vm.Disabled, vm.TwoFactor, vm.Manageable = p.ID == v.User.ID, p.DisabledAt != nil, p.TOTPEnabledAt != nil, p.Manageable
		currency := map[string]string{}
		for _, m := range mids {
			currency[m.Mid] = m.Currency
		}
		for _, g := range p.Grants {
			gi := models.GrantInput{Mid: g.Mid, Role: g.Role, SameDayOnly: g.SameDayOnly}
			gv := views.GrantVM{Mid: g.Mid, Role: g.Role, SameDayOnly: g.SameDayOnly}
			if g.RefundCap != nil {
				gi.RefundCap = money.Format(*g.RefundCap, currency[g.Mid])
				gv.Cap = gi.RefundCap + " " + currency[g.Mid]
			}
			byMid[g.Mid] = gi
			vm.Grants = append(vm.Grants, gv)
		}
	}
	if in != nil {
		vm.Name, vm.Owner = in.Name, in.Owner
		if p == nil {
			vm.Email = in.Email
		}
		byMid = map[string]models.GrantInput{}
		for _, g := range in.Grants {
			byMid[g.Mid] = g
		}
	}
	var access models.Access // as the request's authorization read it
	if sc := ScopeOf(c); sc != nil {
		access = sc.Access
	}
	for _, m := range mids {
		g := byMid[m.Mid]
		vm.Rows = append(vm.Rows, views.GrantRowVM{Mid: m.Mid, Label: m.Label(), Currency: m.Currency,
			Role: g.Role, Cap: g.RefundCap, SameDayOnly: g.SameDayOnly, Choices: models.GrantableRoles(access.Role(m.Mid))})
	}
	return vm, nil
}

// noStore keeps pages with one-time secrets out of every cache.
func noStore(c *fiber.Ctx) {
	c.Set(fiber.HeaderCacheControl, "no-store")
}

// doneMessage translates the ?done= of a redirect after a successful POST:
// only known ids, so the URL cannot put arbitrary text on the page.
func (h *Handler) doneMessage(c *fiber.Ctx, allowed ...string) string {
	done := c.Query("done")
	for _, a := range allowed {
		if done == a {
			return h.T(c, "done."+a)
		}
	}
	return ""
}
