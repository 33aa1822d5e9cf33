package handlers

import (
	"context"

	"github.com/gofiber/fiber/v2"
)

// Pinger checks the database for /readyz.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Healthz handles GET /healthz: the process is up.
func (h *Handler) Healthz(c *fiber.Ctx) error {
	return c.SendString("ok")
}

// Readyz handles GET /readyz: the database answers.
func (h *Handler) Readyz(c *fiber.Ctx) error {
	if err := h.health.Ping(c.UserContext()); err != nil {
		h.log.Warn("Database not ready.", "request_id", RequestID(c), slogErr(err))
		return c.Status(fiber.StatusServiceUnavailable).SendString("database unreachable")
	}
	return c.SendString("ready")
}
