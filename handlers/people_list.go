package handlers

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/models/money"
	"github.com/ksherdash/ksherdash/views"
)

// PeopleStore is what the people pages need from models.Store; every rule about who may manage whom is in models.
type PeopleStore interface {
	People(ctx context.Context, actor *models.User) ([]models.Person, error)
	Person(ctx context.Context, actor *models.User, id int64) (*models.Person, error)
	GrantableMids(ctx context.Context, actor *models.User) ([]models.Mid, error)
	CreatePerson(ctx context.Context, by models.Actor, in models.PersonInput) (*models.Person, string, error)
	UpdatePerson(ctx context.Context, by models.Actor, id int64, in models.PersonInput) (*models.PersonChange, error)
	SetPersonDisabled(ctx context.Context, by models.Actor, id int64, disabled bool) (*models.Person, error)
	ResetPersonPassword(ctx context.Context, by models.Actor, id int64) (*models.Person, string, error)
	ResetPersonTOTP(ctx context.Context, by models.Actor, id int64) (*models.Person, error)
}

// PeopleList handles GET /people: owners see everyone, managers the people
// on their mids with only those roles.
func (h *Handler) PeopleList(c *fiber.Ctx) error {
	v := ViewerOf(c)
	people, err := h.people.People(c.UserContext(), v.User)
	if err != nil {
		return err
	}
	mids, err := h.people.GrantableMids(c.UserContext(), v.User)
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
