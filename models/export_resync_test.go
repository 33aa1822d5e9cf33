package models

import "context"

// RunForTest works bulk re-sync id as its River job does.
func (d *DriftResyncs) RunForTest(ctx context.Context, id int64) error { return d.run(ctx, id) }
