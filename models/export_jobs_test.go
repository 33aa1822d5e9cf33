package models

import (
	"context"

	"github.com/riverqueue/river"
	"gorm.io/gorm"
)

// AddWorkerForTest registers a test's own job kind.
func AddWorkerForTest[T river.JobArgs](j *Jobs, w river.Worker[T]) error { return addWorker(j, w) }

// TransactionForTest runs fn in a transaction of the store.
func (s *Store) TransactionForTest(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return s.db.WithContext(ctx).Transaction(fn)
}

// ScanForTest scans the result of raw SQL into dest.
func (s *Store) ScanForTest(ctx context.Context, dest any, sql string, args ...any) error {
	return s.db.WithContext(ctx).Raw(sql, args...).Scan(dest).Error
}
