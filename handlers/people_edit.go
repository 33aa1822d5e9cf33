package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

// PersonShow handles GET /people/:id: the edit form. People the viewer may
// not see are not found.
func (h *Handler) PersonShow(c *fiber.Ctx) error {
	id, err := personID(c)
	if err != nil {
		return err
	}
	p, err := h.people.Person(c.UserContext(), ViewerOf(c).User, id)
	if err != nil {
		return err
	}
	vm, err := h.personForm(c, p, nil)
	if err != nil {
		return err
	}
	vm.Done = h.doneMessage(c, "person_saved", "person_disabled", "person_enabled", "totp_reset")
	return render(c, fiber.StatusOK, views.PersonFormPage(h.layout(c, "people.edit"), vm))
}

// PersonUpdate handles POST /people/:id: name, owner flag (owners only) and
// roles on the viewer's mids. A bad form is shown again and changes
// nothing.
func (h *Handler) PersonUpdate(c *fiber.Ctx) error {
	id, err := personID(c)
	if err != nil {
		return err
	}
	v := ViewerOf(c)
	in := personInput(c)
	_, err = h.people.UpdatePerson(c.UserContext(), actor(c), id, in)
	if bad := models.AsInvalidInput(err); bad != nil {
		return h.personFormError(c, id, &in, bad)
	}
	if err != nil {
		return err
	}
	h.log.Info("Person updated.", "request_id", RequestID(c), "user_id", id, "by", v.User.ID)
	return redirectAfterPost(c, personPath(id)+"?done=person_saved")
}

// personFormError shows the edit form again with the submitted values, or,
// for htmx buttons, the message alone (422: htmx puts it into #flash).
func (h *Handler) personFormError(c *fiber.Ctx, id int64, in *models.PersonInput, bad *models.InvalidInput) error {
	errs := problemTexts(c, bad.Problems)
	if isPartial(c) {
		for _, msg := range errs {
			return render(c, fiber.StatusUnprocessableEntity, views.ErrorPartial(views.ErrorVM{Status: fiber.StatusUnprocessableEntity, Message: msg}))
		}
	}
	p, err := h.people.Person(c.UserContext(), ViewerOf(c).User, id)
	if err != nil {
		return err
	}
	vm, err := h.personForm(c, p, in)
	if err != nil {
		return err
	}
	vm.Errors = errs
	return render(c, fiber.StatusOK, views.PersonFormPage(h.layout(c, "people.edit"), vm))
}
