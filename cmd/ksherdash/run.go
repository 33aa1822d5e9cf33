package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ksherdash/ksherdash/gateway/sandbox"
	"github.com/ksherdash/ksherdash/migrations"
	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/models/pgserver"
	"github.com/ksherdash/ksherdash/web"
)

// usageError is a bad command line: one line on stderr, exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// run is the whole program behind main: it parses the configuration and
// the command line, wires everything and serves until ctx ends. Tests call it
// directly with their own environment and writers.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, getenv, stdout, stderr)
	case "migrate":
		return migrateCmd(ctx, getenv, stdout, stderr)
	case "user":
		if len(args) == 0 || args[0] != "create" {
			return &usageError{"usage: ksherdash user create --email E --role R [--mid M]... [--password-stdin]"}
		}
		return userCreateCmd(ctx, args[1:], getenv, stdin, stdout, stderr)
	case "sandbox":
		return sandboxCmd(ctx, args, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, "usage: ksherdash [serve | migrate | user create ... | sandbox ...]")
		return nil
	}
	return &usageError{fmt.Sprintf("unknown command %q (want serve, migrate, user create or sandbox)", cmd)}
}

func newLogger(c *Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// database is an open store plus whatever must be stopped with it.
type database struct {
	store *models.Store
	pg    *pgserver.Server
	lock  *os.File
}

// failed receives the error when the embedded Postgres died for good (never,
// for DATABASE_URL: an outside server's outage is waited out).
func (d *database) failed() <-chan error {
	if d.pg == nil {
		return nil
	}
	return d.pg.Failed()
}

func (d *database) Close() {
	if d.store != nil {
		_ = d.store.Close()
	}
	if d.pg != nil {
		_ = d.pg.Stop()
	}
	if d.lock != nil {
		_ = syscall.Flock(int(d.lock.Fd()), syscall.LOCK_UN)
		_ = d.lock.Close()
	}
}

// openDatabase locks DATA_DIR, starts the embedded Postgres when no
// DATABASE_URL is set, connects and migrates.
func openDatabase(ctx context.Context, c *Config, log *slog.Logger) (*database, error) {
	if err := os.MkdirAll(c.DataDir, 0o755); err != nil {
		return nil, &ConfigError{"DATA_DIR", fmt.Sprintf("cannot create %s: %v", c.DataDir, errors.Unwrap(err))}
	}
	d := &database{}
	var err error
	if d.lock, err = lockDataDir(c.DataDir); err != nil {
		return nil, err
	}
	dsn := c.DatabaseURL
	if dsn == "" {
		start := time.Now()
		// Supervised: a postgres that exits on its own is restarted; one
		// that cannot be is reported on Failed, and serve exits non-zero.
		d.pg, err = pgserver.Start(ctx, pgserver.Options{DataDir: filepath.Join(c.DataDir, "pg"), Logger: log, Supervise: true})
		if err != nil {
			d.Close()
			return nil, err
		}
		log.Info("Embedded Postgres started.", "data_dir", filepath.Join(c.DataDir, "pg"), "ms", time.Since(start).Milliseconds())
		dsn = d.pg.DSN("postgres")
	}
	if d.store, err = models.Open(ctx, dsn, log); err != nil {
		d.Close()
		if c.DatabaseURL != "" {
			return nil, fmt.Errorf("cannot connect to DATABASE_URL: %s", oneLine(err))
		}
		return nil, err
	}
	applied, err := d.store.Migrate(ctx, migrations.FS)
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if len(applied) > 0 {
		log.Info("Migrations applied.", "files", strings.Join(applied, ","))
	}
	return d, nil
}

// lockDataDir holds an exclusive lock on DATA_DIR for the life of the
// process, so a second ksherdash on the same folder stops at once instead of
// sharing its database files, secret key or sandbox state.
func lockDataDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, "ksherdash.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b, _ := io.ReadAll(f)
		_ = f.Close()
		pid := strings.TrimSpace(string(b))
		if pid == "" {
			pid = "unknown"
		}
		return nil, fmt.Errorf("another ksherdash (pid %s) is already using DATA_DIR %s; stop it or choose another DATA_DIR", pid, dir)
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return f, nil
}

// oneLine flattens an error to one line (pgx errors can span several).
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

func serve(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) error {
	c, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := newLogger(c, stderr)
	// Bind the port before anything slow, so a taken port fails at once and
	// no half-started server is left behind.
	ln, err := net.Listen("tcp", c.ListenAddr)
	if err != nil {
		return &ConfigError{"LISTEN_ADDR", fmt.Sprintf("cannot listen on %s: %v", c.ListenAddr, errors.Unwrap(err))}
	}
	defer ln.Close()
	db, err := openDatabase(ctx, c, log)
	if err != nil {
		return err
	}
	defer db.Close()
	key, err := loadSecretKey(c)
	if err != nil {
		return err
	}
	db.store.SetSecretKey(key)
	baseURL := c.BaseURL
	if baseURL == "" {
		baseURL = "http://" + ln.Addr().String()
	}
	sandboxOn, err := sandboxMode(ctx, c, db.store)
	if err != nil {
		return err
	}
	var sb *sandbox.Sandbox
	if sandboxOn {
		if sb, err = startSandbox(ctx, c, db.store, baseURL, log); err != nil {
			return err
		}
		defer sb.Close()
		seedOrderCache(ctx, db.store, sb, log)
	}
	// One cache of Ksher clients for the pages and the workers: each client's
	// in-process 10-second query guard then covers both.
	gateways := models.NewGatewayClients(db.store, log)
	orders := models.NewOrders(db.store, gateways, log)
	orders.LimitLookups(models.LookupLimits{PerPerson: c.LookupBudgetPerson, PerAccount: c.LookupBudgetAccount})
	// Background work runs on River, in the same database: the services
	// register their workers, the client starts once the app listens.
	jobs, err := models.NewJobs(db.store, models.JobsConfig{Logger: log, StopTimeout: jobStopTimeout})
	if err != nil {
		return err
	}
	syncs, err := models.NewSync(db.store, gateways, jobs, log, models.SyncConfig{Interval: c.SyncInterval})
	if err != nil {
		return err
	}
	// Payment links: the service registers its resolve, expiry and close
	// jobs here; the pages get it through web.Deps (issue 12, UI to come).
	links, err := models.NewLinks(db.store, orders, jobs, log, models.LinksConfig{BaseURL: baseURL, MaxLifetime: c.LinkMaxLifetime})
	if err != nil {
		return err
	}
	_ = links
	resyncs, err := models.NewDriftResyncs(db.store, orders, jobs, log)
	if err != nil {
		return err
	}
	refunds, err := models.NewRefunds(db.store, orders, jobs, log, models.RefundsConfig{ReconcileFor: c.RefundReconcileFor, Logins: models.DefaultLoginPolicy})
	if err != nil {
		return err
	}
	app, err := web.New(web.Deps{Log: log, Store: db.store, Sandbox: httpHandler(sb), Gateways: gateways, Orders: orders, Sync: syncs, Resyncs: resyncs,
		Refunds: refunds, Config: web.Config{
			SecretKey: key, HTTPS: strings.HasPrefix(baseURL, "https://"), BaseURL: baseURL, Sandbox: sandboxOn,
			Location: c.TimeZone, RequestTimeout: c.RequestTimeout, TrustedProxies: c.TrustedProxies,
			Sessions: models.SessionPolicy{Idle: c.SessionIdle, Absolute: c.SessionMaxAge},
			Logins:   models.DefaultLoginPolicy,
		}})
	if err != nil {
		return err
	}
	pw, err := db.store.EnsureOwner(ctx, c.OwnerEmail)
	if err != nil && !errors.Is(err, models.ErrNotFirstStart) {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- app.Listener(ln) }()
	// The health monitor logs an outage once, and its end, even when no
	// request comes; every query tells it too.
	hctx, stopHealth := context.WithCancel(ctx)
	defer stopHealth()
	go db.store.WatchHealth(hctx, healthInterval)
	// Jobs run on every replica; River's leader inserts the periodic ones
	// (the daily sync), so they run once per period across replicas. They
	// stop before the app (in sandbox mode a sync talks to /sandbox) and
	// the database: running jobs get jobStopTimeout to finish, then are
	// cancelled (a cancelled day goes back to the queue).
	if err := jobs.Start(ctx); err != nil {
		return err
	}
	defer jobs.Stop(context.WithoutCancel(ctx))
	log.Info("Listening.", "url", baseURL, "config", c)
	fmt.Fprintf(stdout, "ksherdash listening on %s\n", baseURL)
	if pw != "" {
		fmt.Fprintf(stdout, "First start: sign in at %s/login as %s with the one-time password %s\n", baseURL, c.OwnerEmail, pw)
		fmt.Fprintln(stdout, "(shown only this once; you will choose your own password after signing in)")
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case err := <-db.failed():
		log.Error("Embedded Postgres is gone and could not be restarted; exiting.", slog.Any("error", err))
		_ = app.ShutdownWithTimeout(5 * time.Second)
		return fmt.Errorf("embedded Postgres: %w", err)
	case <-ctx.Done():
	}
	log.Info("Shutting down.")
	_ = jobs.Stop(context.WithoutCancel(ctx)) // logged by Stop
	if err := app.ShutdownWithTimeout(10 * time.Second); err != nil {
		log.Warn("Shutdown was not clean.", slog.Any("error", err))
	}
	return nil
}

// jobStopTimeout is how long shutdown lets running jobs finish before
// cancelling them (Jobs.Stop then waits a few seconds more for them).
const jobStopTimeout = 10 * time.Second

// healthInterval is how often the database is pinged for the health
// monitor.
const healthInterval = 5 * time.Second

// sandboxMode decides whether the built-in simulator runs: SANDBOX=on or
// off, or (auto) when no account talks to the real Ksher.
func sandboxMode(ctx context.Context, c *Config, store *models.Store) (bool, error) {
	switch c.Sandbox {
	case "on":
		return true, nil
	case "off":
		return false, nil
	}
	live, err := store.CountLiveAccounts(ctx)
	return live == 0, err
}

// httpHandler avoids a typed-nil http.Handler when the sandbox is off.
func httpHandler(sb *sandbox.Sandbox) http.Handler {
	if sb == nil {
		return nil
	}
	return sb
}

func migrateCmd(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) error {
	c, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	db, err := openDatabase(ctx, c, newLogger(c, stderr))
	if err != nil {
		return err
	}
	defer db.Close()
	fmt.Fprintln(stdout, "database schema is up to date")
	return nil
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func userCreateCmd(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("user create", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	email := fs.String("email", "", "email address")
	name := fs.String("name", "", "display name")
	role := fs.String("role", "", "owner, manager, finance, support or viewer")
	pwStdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin")
	var mids multiFlag
	fs.Var(&mids, "mid", "a mid the role applies to (repeatable)")
	if err := fs.Parse(args); err != nil {
		return &usageError{"user create: " + err.Error()}
	}
	n := models.NewUser{Email: *email, Name: *name, Role: *role, Mids: mids}
	if *pwStdin {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return &usageError{"user create: cannot read the password from stdin"}
		}
		n.Password = strings.TrimRight(line, "\r\n")
	} else {
		n.Password, n.MustChangePassword = models.RandomPassword(), true
	}
	if probs := n.Validate(); len(probs) > 0 {
		for _, k := range []string{"email", "password", "role", "mids"} {
			if p, ok := probs[k]; ok {
				return &usageError{"user create: --" + strings.TrimSuffix(k, "s") + ": " + web.English(p.ID, p.Data)}
			}
		}
	}
	c, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	db, err := openDatabase(ctx, c, newLogger(c, stderr))
	if err != nil {
		return err
	}
	defer db.Close()
	u, err := db.store.CreateUser(ctx, models.CommandLine(), n)
	if err != nil {
		if code := models.ErrorCode(err); code == models.ECONFLICT || code == models.EINVALID {
			return &usageError{"user create: " + models.ErrorMessage(err)}
		}
		return err
	}
	fmt.Fprintf(stdout, "created user %d %s (%s)\n", u.ID, u.Email, n.Role)
	if !*pwStdin {
		fmt.Fprintf(stdout, "one-time password: %s\n", n.Password)
	}
	return nil
}
