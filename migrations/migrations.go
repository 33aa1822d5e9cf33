// Package migrations holds the numbered, forward-only SQL migrations of the
// ksherdash schema. They are embedded in the binary and applied by
// models.Store.Migrate, one transaction per file, in name order.
package migrations

import "embed"

// FS contains every NNNN_name.sql file of this directory.
//
//go:embed *.sql
var FS embed.FS
