package models

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/ksherdash/ksherdash/gateway"
)

// unavailableMessage is EUNAVAILABLE's English text (catalog id
// error.unavailable).
const unavailableMessage = "The database cannot be reached right now. Try again in a few seconds."

// Unavailable reports whether err means our database cannot be reached: a
// failed connection attempt (refused, reset, no socket, a dial that ran out
// of time), a connection that went away (EOF, broken pipe, the driver's bad
// connection), SQLSTATE class 08 (connection exception), or the server
// shutting down or starting up (57P01 admin shutdown, 57P02 crash shutdown,
// 57P03 cannot connect now). It is the one place that decides; ErrorCode
// turns it into EUNAVAILABLE. A Ksher network failure (*gateway.Error) is
// never ours.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var ge *gateway.Error
	if errors.As(err, &ge) {
		return false
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	}
	var op *net.OpError
	return errors.As(err, &op) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.ErrUnexpectedEOF)
}

// DBHealth follows whether the database answers, from the outcome of every
// statement (through the GORM logger, see healthLogger) and of every Ping
// (WatchHealth pings periodically, /readyz on each probe). It logs one line
// when the database becomes unreachable and one when it answers again,
// instead of one per failed request.
type DBHealth struct {
	log  *slog.Logger
	now  func() time.Time
	ping func(context.Context) error // the store's Ping, which observes

	mu        sync.Mutex
	down      bool
	downSince time.Time
}

func newDBHealth(log *slog.Logger) *DBHealth {
	return &DBHealth{log: log, now: time.Now}
}

// Up reports whether the last outcome seen was an answer from the database.
func (h *DBHealth) Up() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return !h.down
}

// explains reports whether the database is down, so that a failure logged
// by what does not go through GORM (River's own queries) is the outage the
// monitor logs once. When the monitor believes the database up, one short
// ping checks first, so the outage is logged before the failure it explains.
func (h *DBHealth) explains(ctx context.Context) bool {
	if h.Up() && h.ping != nil {
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		_ = h.ping(pctx)
		cancel()
	}
	return !h.Up()
}

// observe takes the outcome of one statement or ping: an unavailable error
// marks the database down, any answer (success, or an error Postgres itself
// gave, such as a duplicate key) marks it up. A cancelled request tells
// nothing.
func (h *DBHealth) observe(err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	unavailable := Unavailable(err)
	var pe *pgconn.PgError
	if !unavailable && err != nil && !errors.As(err, &pe) && !errors.Is(err, gorm.ErrRecordNotFound) {
		return // not an answer from the server (a timeout, a scan error)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case unavailable && !h.down:
		h.down, h.downSince = true, h.now()
		// pgx's errors name the user and database, never the password.
		h.log.Error("Database unreachable.", slog.String("error", oneLineError(err)))
	case !unavailable && h.down:
		h.down = false
		h.log.Info("Database reachable again.", slog.Duration("down_for", h.now().Sub(h.downSince).Round(time.Millisecond)))
	}
}

// oneLineError flattens an error to one line (pgx errors can span several).
func oneLineError(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// Health returns the store's database health monitor.
func (s *Store) Health() *DBHealth { return s.health }

// WatchHealth pings the database every interval until ctx ends, so an outage
// (and its end) is noticed and logged even when no request comes. Run it in
// its own goroutine.
func (s *Store) WatchHealth(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, min(interval, 5*time.Second))
		_ = s.Ping(pctx) // observed by Ping
		cancel()
	}
}

// healthLogger is the GORM logger with the health monitor in its path: GORM
// calls Trace after every statement with its error, so every query tells
// the monitor whether the database answered. Statements that failed because
// the database is unreachable are not logged one by one: the monitor logs
// the outage once.
type healthLogger struct {
	logger.Interface
	health *DBHealth
}

func (l healthLogger) LogMode(level logger.LogLevel) logger.Interface {
	return healthLogger{l.Interface.LogMode(level), l.health}
}

func (l healthLogger) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	l.health.observe(err)
	if Unavailable(err) {
		return
	}
	l.Interface.Trace(ctx, begin, fc, err)
}
