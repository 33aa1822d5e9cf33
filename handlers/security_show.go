package handlers

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

// SecurityStore is what one's own security page (sessions, two-factor sign-in) needs from models.Store.
type SecurityStore interface {
	Authenticate(ctx context.Context, email, password, ip string, p models.LoginPolicy) (*models.User, error)
	LiveSessions(ctx context.Context, userID int64, p models.SessionPolicy) ([]models.Session, error)
	RecoveryCodesLeft(ctx context.Context, userID int64) (int64, error)
	RevokeSessionByHandle(ctx context.Context, by models.Actor, handle, currentID string) (string, error)
	RevokeOtherSessions(ctx context.Context, by models.Actor, keepID string) (int64, error)
	BeginTOTP(ctx context.Context, userID int64) (*models.TOTPSetup, error)
	PendingTOTP(ctx context.Context, userID int64) (*models.TOTPSetup, error)
	ConfirmTOTP(ctx context.Context, by models.Actor, code, keepSessionID string) ([]string, int64, error)
	DisableTOTP(ctx context.Context, by models.Actor, password, code, keepSessionID string, p models.LoginPolicy) (int64, error)
}

// SecurityShow handles GET /account/security: one's sessions, the password
// link and two-factor sign-in.
func (h *Handler) SecurityShow(c *fiber.Ctx) error {
	vm, err := h.securityVM(c)
	if err != nil {
		return err
	}
	vm.Done = h.doneMessage(c, "session_revoked", "sessions_revoked", "totp_disabled")
	return render(c, fiber.StatusOK, views.SecurityPage(h.layout(c, "security.title"), vm))
}

func (h *Handler) securityVM(c *fiber.Ctx) (views.SecurityVM, error) {
	v := ViewerOf(c)
	sessions, err := h.security.LiveSessions(c.UserContext(), v.User.ID, h.cfg.Sessions)
	if err != nil {
		return views.SecurityVM{}, err
	}
	// One's own sign-ins are about no mid: shown in the configured zone.
	vm := views.SecurityVM{TwoFactor: v.User.TOTPEnabledAt != nil}
	for _, s := range sessions {
		vm.Sessions = append(vm.Sessions, views.SessionVM{Handle: models.SessionHandle(s.ID), Created: h.configured(s.CreatedAt),
			LastSeen: h.configured(s.LastSeenAt), IP: s.IP, UserAgent: shortUserAgent(s.UserAgent), UserAgentFull: s.UserAgent, Current: s.ID == v.Session.ID})
	}
	if vm.TwoFactor {
		vm.TwoFactorSince = h.configured(*v.User.TOTPEnabledAt)
		if vm.RecoveryLeft, err = h.security.RecoveryCodesLeft(c.UserContext(), v.User.ID); err != nil {
			return vm, err
		}
	}
	return vm, nil
}
