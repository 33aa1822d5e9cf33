package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

// Every form validates one way: its input type's Validate() (or its
// service, in an *models.InvalidInput) names each field's problem by a
// message id (models.Problems); the handler words them with problemTexts
// and renders the form again with status 200 (STYLE §6: htmx swaps only
// 2xx into the form), changing nothing.

// problemTexts words each field's problem in the request's language: the
// Errors of a form's view model (nil when there is none).
func problemTexts(c *fiber.Ctx, p models.Problems) map[string]string {
	if len(p) == 0 {
		return nil
	}
	out := make(map[string]string, len(p))
	for field, pr := range p {
		out[field] = views.Tf(c.UserContext(), pr.ID, pr.Data)
	}
	return out
}
