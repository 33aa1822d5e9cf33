package models

import (
	"context"
	"time"
)

// OrderStats summarises a mid's orders over a period, for its overview.
type OrderStats struct {
	Paid      int64            // orders paid (refunded ones included)
	PaidTotal map[string]int64 // amount paid per currency, minor units
	Refunded  map[string]int64 // amount refunded per currency
	Open      int64            // pending or not sure
	Failed    int64            // failed or closed
}

// OrderStatsSince counts the orders of mids created since t (one indexed
// pass over the period).
func (s *Store) OrderStatsSince(ctx context.Context, mids []string, since time.Time) (*OrderStats, error) {
	st := &OrderStats{PaidTotal: map[string]int64{}, Refunded: map[string]int64{}}
	if len(mids) == 0 {
		return st, nil
	}
	var rows []struct {
		Status   string
		Currency string
		N        int64
		Amount   int64
		Refunded int64
	}
	err := s.db.WithContext(ctx).Raw(`SELECT status, currency, count(*) AS n, sum(amount) AS amount, sum(refunded) AS refunded
		FROM orders WHERE mid IN ? AND created_at >= ? GROUP BY status, currency`, mids, since.UTC()).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		switch r.Status {
		case StatusPaid, StatusRefunded, StatusPartiallyRefunded:
			st.Paid += r.N
			st.PaidTotal[r.Currency] += r.Amount
			st.Refunded[r.Currency] += r.Refunded
		case StatusPending, StatusNotSure:
			st.Open += r.N
		case StatusFailed, StatusClosed:
			st.Failed += r.N
		}
	}
	return st, nil
}
