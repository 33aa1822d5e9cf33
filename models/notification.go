package models

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Notification APIs, as stored in notifications.api_kind.
const (
	NotifyV3  = "v3"  // POST /hooks/ksher/v3/:account (signed JSON envelope)
	NotifyVIP = "vip" // GET /hooks/ksher/vip/:account (HMAC over the URL)
)

// Limits of the notification receivers.
const (
	// MaxNotificationBody is the largest body a receiver reads; Ksher's
	// notifications are about 1 KiB.
	MaxNotificationBody = 64 << 10
	// InvalidNotificationsPerMinute is how many notifications that do not
	// verify are stored per minute (all senders together); more are
	// refused without being stored, so a flood cannot fill the table.
	// Ksher itself never sends one that does not verify.
	InvalidNotificationsPerMinute = 120
	// MaxReplaysStored is how many copies of one handled notification are
	// kept (Ksher retries at most 12 times); later copies are answered but
	// not stored again.
	MaxReplaysStored = 50
)

// Notification is one notification or webhook as received, valid or not.
type Notification struct {
	ID         int64
	ReceivedAt time.Time
	AccountID  *int64 // nil: the URL named no known account
	APIKind    string // NotifyV3 or NotifyVIP
	Valid      bool   // the signature verified
	Error      string // why it was refused (invalid ones)
	Mid        string // the mid it is about, once known from verified data
	MchOrderNo string // the order it is about (as claimed, for invalid ones)
	Method     string
	URL        string // path and query as received
	Body       string
	RemoteIP   string
	Status     string // the order state it reported (valid ones)
	Digest     string // identifies its signed content: equal digests are the same notification
	Replay     bool   // an earlier one with the same digest was already handled
	OrderID    *int64 // the cached order it concerns
	Changed    bool   // handling it changed the cached order
	HandledAt  *time.Time
}

// NotificationSaved is what SaveNotification did.
type NotificationSaved struct {
	Notification *Notification
	Stored       bool   // false: a replay beyond MaxReplaysStored, not stored again
	Order        *Order // the order after handling, when there was one
}

// AllowInvalidNotification reports whether one more notification that does
// not verify may be stored now (InvalidNotificationsPerMinute, counted in
// Postgres so that every replica shares the budget).
func (s *Store) AllowInvalidNotification(ctx context.Context) (bool, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&Notification{}).
		Where("NOT valid AND received_at > ?", s.now().Add(-time.Minute)).Count(&n).Error
	if err != nil {
		return false, fmt.Errorf("store: count invalid notifications: %w", err)
	}
	return n < InvalidNotificationsPerMinute, nil
}

// SaveNotification stores a received notification and, for a valid one
// that is not a replay and carries an update u (a v3 notification has the
// amounts), applies u to the order cache in the same transaction: either
// both are stored or neither. A valid notification whose digest matches one
// already handled is a replay: it is stored marked as such (up to
// MaxReplaysStored copies), linked to the order, and changes nothing.
// Notifications that need a query first (vip) are saved with u nil and
// completed by HandleNotification.
func (s *Store) SaveNotification(ctx context.Context, n *Notification, u *OrderUpdate) (*NotificationSaved, error) {
	res := &NotificationSaved{Notification: n}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res.Stored, res.Order = true, nil
		n.ReceivedAt, n.Replay, n.Changed, n.HandledAt, n.OrderID = s.now(), false, false, nil, nil
		if n.Valid && n.Digest != "" {
			// Serialise copies of one notification arriving together, so
			// exactly one of them is handled.
			if err := tx.Exec("SELECT pg_advisory_xact_lock(hashtextextended(?, 728))", n.Digest).Error; err != nil {
				return err
			}
			var copies int64
			err := tx.Model(&Notification{}).Where("digest = ? AND valid AND handled_at IS NOT NULL", n.Digest).Count(&copies).Error
			if err != nil {
				return err
			}
			if n.Replay = copies > 0; n.Replay && copies >= MaxReplaysStored {
				res.Stored = false
				return nil
			}
		}
		if n.Valid && n.Replay && n.Mid != "" && n.MchOrderNo != "" {
			var o Order
			err := tx.Where("mid = ? AND mch_order_no = ?", n.Mid, n.MchOrderNo).Take(&o).Error
			if err == nil {
				n.OrderID, res.Order = &o.ID, &o
			} else if !errors.Is(err, gorm.ErrRecordNotFound) {
				return err
			}
		}
		if n.Valid && !n.Replay && u != nil {
			if err := setChangeSource(tx, "notification"); err != nil {
				return err
			}
			o, changed, err := s.upsertOrderTx(tx, *u)
			if err != nil {
				return err
			}
			now := s.now()
			n.OrderID, n.Changed, n.HandledAt, res.Order = &o.ID, changed, &now, o
			n.Mid, n.MchOrderNo = o.Mid, o.MchOrderNo
		}
		return tx.Create(n).Error
	})
	if err != nil {
		return nil, fmt.Errorf("store: save notification: %w", err)
	}
	return res, nil
}

// HandleNotification records that a stored notification was acted on (a
// vip webhook after the query it triggered): the order it concerns and
// whether the cache changed. notified marks the order as told by Ksher
// (a webhook whose state the query confirmed).
func (s *Store) HandleNotification(ctx context.Context, id int64, o *Order, changed, notified bool) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		now := s.now()
		upd := map[string]any{"handled_at": now, "changed": changed}
		if o != nil {
			upd["order_id"], upd["mid"], upd["mch_order_no"] = o.ID, o.Mid, o.MchOrderNo
		}
		if err := tx.Model(&Notification{}).Where("id = ?", id).Updates(upd).Error; err != nil {
			return err
		}
		if o != nil && notified {
			return tx.Model(&Order{}).Where("id = ?", o.ID).Update("notified_at", now).Error
		}
		return nil
	})
}

// WasHandled reports whether a valid notification with this digest was
// already handled (the sender is repeating itself).
func (s *Store) WasHandled(ctx context.Context, digest string) (bool, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&Notification{}).
		Where("digest = ? AND valid AND handled_at IS NOT NULL", digest).Limit(1).Count(&n).Error
	return n > 0, err
}

// CachedOrderOfAccount returns the cached order of an account with this
// merchant order number (vip webhooks name the order but not its mid), or
// ENOTFOUND.
func (s *Store) CachedOrderOfAccount(ctx context.Context, accountID int64, mchOrderNo string) (*Order, error) {
	var o Order
	err := s.db.WithContext(ctx).Where("account_id = ? AND mch_order_no = ?", accountID, mchOrderNo).
		Order("id").Take(&o).Error
	if err != nil {
		return nil, notFoundOr(err, "Order")
	}
	return &o, nil
}

// NotificationFilter selects notifications for the event log.
type NotificationFilter struct {
	// Mids the person may see: notifications about their orders.
	Mids []string
	// AccountIDs whose notifications that name no mid (those that did not
	// verify) the person may see: the accounts of their mids.
	AccountIDs []int64
	// UnknownAccounts includes notifications sent to no known account
	// (owners only).
	UnknownAccounts bool
	Valid           *bool  // nil: both
	After           string // keyset cursor from the previous page
	Limit           int    // default 50, at most 200
}

// NotificationRow is one line of the event log.
type NotificationRow struct {
	Notification
	OrderMid string // the mid of the linked order ("" when none)
}

// ListNotifications returns one page of notifications, newest first, and
// the cursor of the next page ("" on the last).
func (s *Store) ListNotifications(ctx context.Context, f NotificationFilter) ([]NotificationRow, string, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	var cond []string
	args := []any{}
	if len(f.Mids) > 0 {
		cond = append(cond, "n.mid IN ?")
		args = append(args, f.Mids)
	}
	if len(f.AccountIDs) > 0 {
		cond = append(cond, "(n.mid = '' AND n.account_id IN ?)")
		args = append(args, f.AccountIDs)
	}
	if f.UnknownAccounts {
		cond = append(cond, "n.account_id IS NULL")
	}
	if len(cond) == 0 {
		return nil, "", nil
	}
	q := s.db.WithContext(ctx).Table("notifications AS n").
		Select("n.*, COALESCE(o.mid, '') AS order_mid").
		Joins("LEFT JOIN orders o ON o.id = n.order_id").
		Where("("+strings.Join(cond, " OR ")+")", args...)
	if f.Valid != nil {
		q = q.Where("n.valid = ?", *f.Valid)
	}
	if f.After != "" {
		at, id, err := decodeCursor(f.After)
		if err != nil {
			return nil, "", errorID(EINVALID, "error.bad_page_link", "The page link is not valid; start from the first page.")
		}
		q = q.Where("(n.received_at, n.id) < (?, ?)", time.Unix(0, at).UTC(), id)
	}
	var rows []NotificationRow
	if err := q.Order("n.received_at DESC, n.id DESC").Limit(f.Limit + 1).Scan(&rows).Error; err != nil {
		return nil, "", fmt.Errorf("store: list notifications: %w", err)
	}
	next := ""
	if len(rows) > f.Limit {
		rows = rows[:f.Limit]
		last := rows[len(rows)-1]
		next = strconv.FormatInt(last.ReceivedAt.UnixNano(), 36) + "." + strconv.FormatInt(last.ID, 36)
	}
	return rows, next, nil
}

// setChangeSource names, for the rest of the transaction, what is writing
// order states, so that drift recorded by the database says what found it.
func setChangeSource(tx *gorm.DB, source string) error {
	return tx.Exec("SELECT set_config('ksherdash.source', ?, true)", source).Error
}
