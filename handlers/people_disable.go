package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/models"
)

// PersonDisable handles POST /people/:id/disable: the person's sessions
// end at once and they cannot sign in until enabled again.
func (h *Handler) PersonDisable(c *fiber.Ctx) error {
	return h.setDisabled(c, true)
}

// PersonEnable handles POST /people/:id/enable.
func (h *Handler) PersonEnable(c *fiber.Ctx) error {
	return h.setDisabled(c, false)
}

func (h *Handler) setDisabled(c *fiber.Ctx, disabled bool) error {
	id, err := personID(c)
	if err != nil {
		return err
	}
	v := ViewerOf(c)
	_, err = h.people.SetPersonDisabled(c.UserContext(), actor(c), id, disabled)
	if bad := models.AsInvalidInput(err); bad != nil {
		return h.personFormError(c, id, nil, bad)
	}
	if err != nil {
		return err
	}
	done := "person_enabled"
	if disabled {
		done = "person_disabled"
	}
	h.log.Info("Person enabled or disabled.", "request_id", RequestID(c), "user_id", id, "disabled", disabled, "by", v.User.ID)
	if disabled && id == v.User.ID {
		h.clearSessionCookie(c)
		return redirectAfterPost(c, "/login")
	}
	return redirectAfterPost(c, personPath(id)+"?done="+done)
}
