package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

// PersonPasswordReset handles POST /people/:id/password: a new one-time
// password, shown once on the answer, to be changed at the next sign-in;
// every session of the person ends.
func (h *Handler) PersonPasswordReset(c *fiber.Ctx) error {
	id, err := personID(c)
	if err != nil {
		return err
	}
	v := ViewerOf(c)
	p, pw, err := h.people.ResetPersonPassword(c.UserContext(), actor(c), id)
	if bad := models.AsInvalidInput(err); bad != nil {
		return h.personFormError(c, id, nil, bad)
	}
	if err != nil {
		return err
	}
	h.log.Info("Password reset.", "request_id", RequestID(c), "user_id", id, "by", v.User.ID)
	noStore(c)
	return render(c, fiber.StatusOK, views.OneTimePasswordPage(h.layout(c, "people.reset_done"),
		views.OneTimePasswordVM{Email: p.Email, Password: pw, Reset: true, PersonURL: personPath(id)}))
}
