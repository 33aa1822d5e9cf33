package models

import (
	"context"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// DriftReportSQL returns the statements DriftReport would run for f, values
// inlined, without running them (tests EXPLAIN them).
func (s *Store) DriftReportSQL(ctx context.Context, f DriftFilter) ([]string, error) {
	c := &sqlCapture{Interface: logger.Discard}
	dry := *s
	dry.db = s.db.Session(&gorm.Session{DryRun: true, Logger: c})
	if _, err := dry.DriftReport(ctx, f); err != nil {
		return nil, err
	}
	return c.sql, nil
}
