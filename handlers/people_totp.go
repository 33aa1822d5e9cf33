package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/models"
)

// PersonTOTPReset handles POST /people/:id/totp/reset: turns off the
// person's two-factor sign-in (secret and recovery codes deleted) and ends
// every session of theirs; they sign in next with their password alone.
// Who may do it is models.MayManage, like every change to a person.
func (h *Handler) PersonTOTPReset(c *fiber.Ctx) error {
	id, err := personID(c)
	if err != nil {
		return err
	}
	v := ViewerOf(c)
	_, err = h.people.ResetPersonTOTP(c.UserContext(), actor(c), id)
	if bad := models.AsInvalidInput(err); bad != nil {
		return h.personFormError(c, id, nil, bad)
	}
	if err != nil {
		return err
	}
	h.log.Info("Two-factor sign-in reset.", "request_id", RequestID(c), "user_id", id, "by", v.User.ID)
	return redirectAfterPost(c, personPath(id)+"?done=totp_reset")
}
