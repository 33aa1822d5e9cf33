package models

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Store is the Postgres-backed storage of ksherdash. Every public method takes
// a context and is safe for concurrent use.
type Store struct {
	db      *gorm.DB
	log     *slog.Logger
	now     func() time.Time
	sealKey []byte
	health  *DBHealth
	// onRefundSeen is called in the transaction that records Ksher saying
	// an order is refunded (an answer, a webhook's query, a report line):
	// the refund service (NewRefunds) sends its reconciler to the order's
	// unknown refunds. nil when no refund service runs.
	onRefundSeen func(tx *gorm.DB, orderID int64) error
}

// Open connects to the database at dsn (a URL or keyword/value string) and
// checks that it answers.
func Open(ctx context.Context, dsn string, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	db, err := gorm.Open(postgres.Open(dsn), &gorm.Config{
		TranslateError: true,
		// Silent while connecting: the caller reports a failure in one line.
		Logger:  logger.Discard,
		NowFunc: func() time.Time { return time.Now().UTC() },
	})
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	// Parameterized logging keeps values, and so secrets, out of the SQL log.
	// Every statement's outcome also goes to the health monitor.
	health := newDBHealth(log)
	db.Logger = healthLogger{logger.NewSlogLogger(log, logger.Config{
		LogLevel: logger.Warn, ParameterizedQueries: true, IgnoreRecordNotFoundError: true,
		SlowThreshold: 500 * time.Millisecond,
	}), health}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	sqlDB.SetMaxOpenConns(20)
	sqlDB.SetMaxIdleConns(10)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	s := &Store{db: db, log: log, now: func() time.Time { return time.Now().UTC() }, health: health}
	health.ping = s.Ping
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	// Not through Ping: a database unreachable at start is the caller's one
	// error line, not an outage for the monitor to log.
	if err := sqlDB.PingContext(pctx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("database unreachable: %w", err)
	}
	return s, nil
}

// SetClock replaces the store's clock (tests only).
func (s *Store) SetClock(now func() time.Time) { s.now = now }

// Ping checks that the database answers, and tells the health monitor.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	err = sqlDB.PingContext(ctx)
	s.health.observe(err)
	return err
}

// Close closes the connection pool.
func (s *Store) Close() error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// ErrSchemaTooNew is returned by Migrate when the database carries
// migrations this binary does not know: an older binary must not run against
// a newer schema.
var ErrSchemaTooNew = errors.New("the database schema is newer than this program; upgrade ksherdash")

// Migrate applies River's migrations (the job engine's tables, see
// jobs.go), then every migration of fsys (files NNNN_name.sql) not yet
// recorded in schema_migrations, each in its own transaction, in order. It
// returns the names of ours it applied. A Postgres advisory lock serialises
// concurrent starts of several replicas.
func (s *Store) Migrate(ctx context.Context, fsys fs.FS) ([]string, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var applied []string
	err = s.db.WithContext(ctx).Connection(func(conn *gorm.DB) error {
		if err := conn.Exec(`SELECT pg_advisory_lock(727001)`).Error; err != nil {
			return err
		}
		defer conn.Exec(`SELECT pg_advisory_unlock(727001)`)
		if err := conn.Exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
			version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`).Error; err != nil {
			return err
		}
		var done []int
		if err := conn.Raw(`SELECT version FROM schema_migrations ORDER BY version`).Scan(&done).Error; err != nil {
			return err
		}
		have := map[int]bool{}
		known := map[int]bool{}
		for _, v := range done {
			have[v] = true
		}
		for _, name := range names {
			v, err := migrationVersion(name)
			if err != nil {
				return err
			}
			if known[v] {
				return fmt.Errorf("migration %s: version %d is used twice", name, v)
			}
			known[v] = true
		}
		for _, v := range done {
			if !known[v] {
				return ErrSchemaTooNew
			}
		}
		// River's tables first: a migration of ours may turn rows into
		// River jobs.
		river, err := s.migrateRiver(ctx)
		if err != nil {
			return fmt.Errorf("migrate River: %w", err)
		}
		if river > 0 {
			s.log.Info("River migrations applied.", "versions", river)
		}
		for _, name := range names {
			v, _ := migrationVersion(name)
			if have[v] {
				continue
			}
			body, err := fs.ReadFile(fsys, name)
			if err != nil {
				return err
			}
			err = conn.Transaction(func(tx *gorm.DB) error {
				if err := tx.Exec(string(body)).Error; err != nil {
					return err
				}
				return tx.Exec(`INSERT INTO schema_migrations (version, name) VALUES (?, ?)`, v, name).Error
			})
			if err != nil {
				return fmt.Errorf("migration %s: %w", name, err)
			}
			applied = append(applied, name)
		}
		return nil
	})
	return applied, err
}

func migrationVersion(name string) (int, error) {
	base := path.Base(name)
	num, _, ok := strings.Cut(base, "_")
	v, err := strconv.Atoi(num)
	if !ok || err != nil {
		return 0, fmt.Errorf("migration %q: name must be NNNN_name.sql", name)
	}
	return v, nil
}

// notFoundOr maps gorm's not-found and duplicate-key errors to application
// codes, leaving other errors as they are.
func notFoundOr(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return Errorf(ENOTFOUND, "%s not found.", what)
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return &Error{Code: ECONFLICT, Message: what + " already exists.", MsgID: "error.already_exists"}
	case errors.Is(err, gorm.ErrForeignKeyViolated):
		return Errorf(EINVALID, "%s refers to something that does not exist (an unknown mid?).", what)
	}
	return err
}
