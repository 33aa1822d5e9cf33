package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/models/money"
	"github.com/ksherdash/ksherdash/views"
)

// PeopleList handles GET /people: owners see everyone, managers the people
// on their mids with only those roles.
func (h *Handler) PeopleList(c *fiber.Ctx) error {
	v := ViewerOf(c)
	people, err := h.store.People(c.UserContext(), v.User)
	if err != nil {
		return err
	}
	mids, err := h.store.GrantableMids(c.UserContext(), v.User)
	if err != nil {
		return err
	}
	currency := map[string]string{}
	for _, m := range mids {
		currency[m.Mid] = m.Currency
	}
	vm := views.PeopleListVM{}
	for _, p := range people {
		row := views.PersonRowVM{ID: p.ID, URL: personPath(p.ID), Email: p.Email, Name: p.Name, Owner: p.IsOwner,
			Disabled: p.DisabledAt != nil, TwoFactor: p.TOTPEnabledAt != nil}
		for _, g := range p.Grants {
			gv := views.GrantVM{Mid: g.Mid, Role: g.Role, SameDayOnly: g.SameDayOnly}
			if g.RefundCap != nil {
				gv.Cap = money.Format(*g.RefundCap, currency[g.Mid]) + " " + currency[g.Mid]
			}
			row.Grants = append(row.Grants, gv)
		}
		vm.People = append(vm.People, row)
	}
	return render(c, fiber.StatusOK, views.PeopleListPage(h.layout(c, "people.title"), vm))
}
