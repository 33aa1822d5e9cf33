package models

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// sqlCapture keeps the SQL of every statement, with its values inlined.
type sqlCapture struct {
	logger.Interface
	sql []string
}

func (c *sqlCapture) Trace(_ context.Context, _ time.Time, fc func() (string, int64), _ error) {
	sql, _ := fc()
	c.sql = append(c.sql, sql)
}

// ListOrdersSQL returns the query ListOrdersPage would run for f, values
// inlined, without running it (tests EXPLAIN it).
func (s *Store) ListOrdersSQL(ctx context.Context, f OrderFilter) (string, error) {
	c := &sqlCapture{Interface: logger.Discard}
	dry := *s
	dry.db = s.db.Session(&gorm.Session{DryRun: true, Logger: c})
	if _, err := dry.ListOrdersPage(ctx, f); err != nil {
		return "", err
	}
	if len(c.sql) == 0 {
		return "", nil
	}
	return c.sql[len(c.sql)-1], nil
}

// RawForTest scans the rows of a raw query (one column) into dst.
func (s *Store) RawForTest(ctx context.Context, sql string, dst *[]string) error {
	return s.db.WithContext(ctx).Raw(sql).Scan(dst).Error
}
