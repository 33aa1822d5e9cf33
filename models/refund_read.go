package models

import "context"

// AllowPartialRefund reads a merchant account's own partial-refund setting
// (what the vip account page edits with SetAllowPartialRefund).
func (s *Store) AllowPartialRefund(ctx context.Context, accountID int64) (bool, error) {
	var allow []bool
	if err := s.db.WithContext(ctx).Raw("SELECT allow_partial_refund FROM merchant_accounts WHERE id = ?", accountID).Scan(&allow).Error; err != nil {
		return false, err
	}
	if len(allow) == 0 {
		return false, Errorf(ENOTFOUND, "Account not found.")
	}
	return allow[0], nil
}

// FindRefundRow returns one refund of one of mids with its order's number
// and its requester's email (the refund page), or ENOTFOUND.
func (s *Store) FindRefundRow(ctx context.Context, mids []string, id int64) (*RefundRow, error) {
	var rows []RefundRow
	err := s.db.WithContext(ctx).Table("refunds AS r").
		Select("r.*, o.mch_order_no, COALESCE(u.email, '') AS requester_email").
		Joins("JOIN orders o ON o.id = r.order_id").Joins("LEFT JOIN users u ON u.id = r.created_by").
		Where("r.id = ? AND r.mid IN ?", id, mids).Limit(1).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, Errorf(ENOTFOUND, "Refund not found.")
	}
	return &rows[0], nil
}
