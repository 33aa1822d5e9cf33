package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/models"
)

const (
	LocalRequestID = "request_id"
	LocalClientIP  = "client_ip" // see ClientIP
	LocalCSRF      = "csrf"
	LocalViewer    = "viewer"
)

type Viewer struct {
	User    *models.User
	Session *models.Session
}

func ViewerOf(c *fiber.Ctx) *Viewer {
	v, _ := c.Locals(LocalViewer).(*Viewer)
	return v
}

func RequestID(c *fiber.Ctx) string {
	id, _ := c.Locals(LocalRequestID).(string)
	return id
}
