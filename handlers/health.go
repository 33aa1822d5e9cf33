package handlers

import (
	"context"

	"github.com/gofiber/fiber/v2"
)

// Pinger checks the database for /readyz.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Healthz handles GET /healthz: the process is up. It never asks the
// database: a database outage must not get a live process restarted.
func (h *Handler) Healthz(c *fiber.Ctx) error {
	return c.SendString("ok")
}

// Readyz handles GET /readyz: the database answers. A failure is not logged
// here (probes come every few seconds): the ping tells models' health
// monitor, which logs the outage once, and its end.
func (h *Handler) Readyz(c *fiber.Ctx) error {
	if err := h.health.Ping(c.UserContext()); err != nil {
		return c.Status(fiber.StatusServiceUnavailable).SendString("database unreachable")
	}
	return c.SendString("ready")
}
