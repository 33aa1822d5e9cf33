package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

// PeopleNew handles GET /people/new.
func (h *Handler) PeopleNew(c *fiber.Ctx) error {
	vm, err := h.personForm(c, nil, nil)
	if err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.PersonFormPage(h.layout(c, "people.new"), vm))
}

// PeopleCreate handles POST /people. A bad form is shown again with what
// is wrong and nothing is created. On success the one-time password is
// shown on the answer itself (never stored, never in a URL), once.
func (h *Handler) PeopleCreate(c *fiber.Ctx) error {
	v := ViewerOf(c)
	in := personInput(c)
	p, pw, err := h.people.CreatePerson(c.UserContext(), actor(c), in)
	if bad := models.AsInvalidInput(err); bad != nil {
		vm, ferr := h.personForm(c, nil, &in)
		if ferr != nil {
			return ferr
		}
		vm.Errors = problemTexts(c, bad.Problems)
		return render(c, fiber.StatusOK, views.PersonFormPage(h.layout(c, "people.new"), vm))
	}
	if err != nil {
		return err
	}
	h.log.Info("Person created.", "request_id", RequestID(c), "user_id", p.ID, "by", v.User.ID)
	noStore(c)
	return render(c, fiber.StatusOK, views.OneTimePasswordPage(h.layout(c, "people.created"),
		views.OneTimePasswordVM{Email: p.Email, Password: pw, PersonURL: personPath(p.ID)}))
}
