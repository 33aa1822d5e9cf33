package handlers

import (
	"context"

	"github.com/ksherdash/ksherdash/models"
)

// OperationsStore is what the notification receivers, the event log, the
// sync page and the drift page need from models.Store.
type OperationsStore interface {
	AllowInvalidNotification(ctx context.Context) (bool, error)
	SaveNotification(ctx context.Context, n *models.Notification, u *models.OrderUpdate) (*models.NotificationSaved, error)
	HandleNotification(ctx context.Context, id int64, o *models.Order, changed, notified bool) error
	CachedOrderOfAccount(ctx context.Context, accountID int64, mchOrderNo string) (*models.Order, error)
	ListNotifications(ctx context.Context, f models.NotificationFilter) ([]models.NotificationRow, string, error)
	SyncJobs(ctx context.Context, mids []string, limit int) ([]models.SyncJob, error)
	DriftReport(ctx context.Context, f models.DriftFilter) (*models.DriftReport, error)
	Accounts(ctx context.Context) ([]models.MerchantAccount, error)
}

// ops is the store's operations part (Store embeds OperationsStore).
func (h *Handler) ops() OperationsStore { return h.store }
