package web

import (
	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/handlers"
)

// routes registers every route of the dashboard. Mutations are POST so that
// plain forms work without JavaScript.
func routes(app *fiber.App, h *handlers.Handler, m *middleware) {
	// Public
	app.Get("/login", h.LoginShow)
	app.Post("/login", h.LoginCreate)
	app.Get("/lang", h.LanguageSet)

	// Signed in
	a := app.Group("", m.requireUser)
	a.Get("/", h.DashboardShow)
	a.Post("/logout", h.LogoutCreate)
	a.Get("/account/password", h.PasswordShow)
	a.Post("/account/password", h.PasswordUpdate)
}
