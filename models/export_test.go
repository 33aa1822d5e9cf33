package models

import "context"

// ExecForBench runs raw SQL (benchmarks fill the cache with generate_series;
// tests install triggers that make a write fail).
func (s *Store) ExecForBench(ctx context.Context, sql string) error {
	return s.db.WithContext(ctx).Exec(sql).Error
}

// SendForTest runs one send of refund id, as its job would.
func (s *Refunds) SendForTest(ctx context.Context, id int64) error { return s.send(ctx, id) }
