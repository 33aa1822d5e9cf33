package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
	"gorm.io/gorm"
)

// River is the one job engine: its tables live in our database, its client
// shares the store's *sql.DB (riverdatabasesql), and a job is inserted in
// the same transaction as the change that needs it (InsertTx). River runs a
// job at least once (it retries failures and rescues jobs stuck in running),
// so every worker's effect is idempotent: unique inserts dedupe intents, our
// rows carry progress, and an effect outside our database carries its
// idempotency key in the job's args.

// JobsConfig configures the job engine of one process.
type JobsConfig struct {
	// Workers is how many jobs this process works at once; default 4.
	Workers int
	// FetchPollInterval is how often the client looks for available jobs
	// (riverdatabasesql has no LISTEN/NOTIFY, so fetching polls); default
	// 1 s. Tests use 50 ms.
	FetchPollInterval time.Duration
	// StopTimeout bounds how long Stop lets running jobs finish before
	// their contexts are cancelled; default 10 s. After the cancel, Stop
	// waits up to stopGrace more for them to return.
	StopTimeout time.Duration
	// ID names this process's client in River's tables (attempted_by,
	// leader); default: River's, random.
	ID string
	// Logger receives River's own logs (component=jobs).
	Logger *slog.Logger
	// TestOnly turns on River's test mode (maintenance services start at
	// once instead of after a jittered sleep). Tests only.
	TestOnly bool
}

// stopGrace is how long Stop waits, after cancelling running jobs, for them
// to return before it gives up (River rescues what is left).
const stopGrace = 5 * time.Second

// JobInserter is what services need of the job engine: inserting jobs
// inside a GORM transaction; *Jobs implements it.
type JobInserter interface {
	// InsertTx inserts a job that is visible only when tx commits.
	InsertTx(ctx context.Context, tx *gorm.DB, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	// RetryTx makes job id (waiting for a retry, or scheduled) available
	// now, when tx commits.
	RetryTx(ctx context.Context, tx *gorm.DB, id int64) error
}

// unfinished are the job states a unique job is unique among: a job not
// yet finished (completed, cancelled or discarded jobs do not count), so
// the same intent can be queued again once its job is over.
var unfinished = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
	rivertype.JobStateRunning, rivertype.JobStateScheduled}

// UniqueWhileUnfinished is the unique rule of the per-intent jobs: one job
// per args (the fields tagged river:"unique") while it is not finished.
func UniqueWhileUnfinished() river.UniqueOpts {
	return river.UniqueOpts{ByArgs: true, ByState: unfinished}
}

// Jobs is the River client of this process and the workers registered with
// it. Services register their workers when they are built; the client is
// made on first use (Start or an insert), after which no worker may be
// added. Safe for concurrent use.
type Jobs struct {
	db  *sql.DB
	log *slog.Logger
	cfg JobsConfig

	mu       sync.Mutex
	workers  *river.Workers
	kinds    int
	periodic []*river.PeriodicJob
	client   *river.Client[*sql.Tx]
	started  bool
}

// NewJobs returns the job engine over the store's connection pool.
func NewJobs(s *Store, cfg JobsConfig) (*Jobs, error) {
	sqlDB, err := s.db.DB()
	if err != nil {
		return nil, err
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.FetchPollInterval <= 0 {
		cfg.FetchPollInterval = time.Second
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = 10 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = s.log
	}
	return &Jobs{db: sqlDB, log: riverLogger(log, s.health).With("component", "jobs"), cfg: cfg, workers: river.NewWorkers()}, nil
}

// riverLogger is log for River's own messages, with their Info lines
// (client started, job counts every few seconds, each migration applied)
// moved down to Debug: our logs say what matters in our words; River's
// warnings and errors stay as they are.
//
// During a database outage, River's warnings and errors (every poll fails)
// go down to Debug too: the health monitor logs the outage once.
func riverLogger(log *slog.Logger, health *DBHealth) *slog.Logger {
	return slog.New(infoAsDebug{log.Handler(), health})
}

type infoAsDebug struct {
	slog.Handler
	health *DBHealth // nil: no outage filter
}

func (h infoAsDebug) Enabled(ctx context.Context, l slog.Level) bool {
	return h.Handler.Enabled(ctx, demote(l))
}

func (h infoAsDebug) Handle(ctx context.Context, r slog.Record) error {
	r.Level = demote(r.Level)
	if r.Level >= slog.LevelWarn && h.health != nil && h.health.explains(ctx) {
		r.Level = slog.LevelDebug
		if !h.Handler.Enabled(ctx, r.Level) {
			return nil
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h infoAsDebug) WithAttrs(as []slog.Attr) slog.Handler {
	return infoAsDebug{h.Handler.WithAttrs(as), h.health}
}
func (h infoAsDebug) WithGroup(name string) slog.Handler {
	return infoAsDebug{h.Handler.WithGroup(name), h.health}
}

func demote(l slog.Level) slog.Level {
	if l >= slog.LevelInfo && l < slog.LevelWarn {
		return slog.LevelDebug
	}
	return l
}

// addWorker registers a worker; services call it from their constructor.
func addWorker[T river.JobArgs](j *Jobs, w river.Worker[T]) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.client != nil {
		var args T
		return fmt.Errorf("jobs: worker %s registered after the client was made", args.Kind())
	}
	if err := river.AddWorkerSafely(j.workers, w); err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	j.kinds++
	return nil
}

// addPeriodic registers a periodic job; River's elected leader inserts it,
// so it runs once per period across replicas.
func (j *Jobs) addPeriodic(p *river.PeriodicJob) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.client != nil {
		return errors.New("jobs: periodic job registered after the client was made")
	}
	j.periodic = append(j.periodic, p)
	return nil
}

// Client returns the River client, making it on first use.
func (j *Jobs) Client() (*river.Client[*sql.Tx], error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.client != nil {
		return j.client, nil
	}
	if j.kinds == 0 {
		return nil, errors.New("jobs: no worker registered")
	}
	c, err := river.NewClient(riverdatabasesql.New(j.db), &river.Config{
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: j.cfg.Workers}},
		Workers:           j.workers,
		PeriodicJobs:      j.periodic,
		FetchPollInterval: j.cfg.FetchPollInterval,
		FetchCooldown:     min(100*time.Millisecond, j.cfg.FetchPollInterval),
		// A sync of a busy mid's day can page for a while; each page has
		// its own Ksher deadline. River rescues a job still running an
		// hour after this (RescueStuckJobsAfter's default).
		JobTimeout:      30 * time.Minute,
		SoftStopTimeout: j.cfg.StopTimeout,
		ID:              j.cfg.ID,
		Logger:          j.log,
		TestOnly:        j.cfg.TestOnly,
	})
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	j.client = c
	return c, nil
}

// Start starts working jobs (and, on the elected leader, the periodic
// ones) until Stop. The client is not tied to ctx: Stop ends it, so that
// the stop is bounded and happens before the database closes.
func (j *Jobs) Start(ctx context.Context) error {
	c, err := j.Client()
	if err != nil {
		return err
	}
	if err := c.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	j.mu.Lock()
	j.started = true
	j.mu.Unlock()
	return nil
}

// Stop stops fetching jobs and waits for the running ones: up to
// StopTimeout for them to finish, then their contexts are cancelled and it
// waits up to stopGrace more. A job still running after that is left to
// River's rescuer (it is retried later, here or on another replica). Stop
// on a client never started does nothing.
func (j *Jobs) Stop(ctx context.Context) error {
	j.mu.Lock()
	c, started := j.client, j.started
	j.started = false
	j.mu.Unlock()
	if c == nil || !started {
		return nil
	}
	begin := time.Now()
	// SoftStopTimeout cancels the running jobs after StopTimeout.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), j.cfg.StopTimeout+stopGrace)
	defer cancel()
	if err := c.Stop(sctx); err != nil {
		j.log.Warn("Jobs did not stop in time; River will retry them.", "waited_ms", time.Since(begin).Milliseconds(), slog.Any("error", err))
		return fmt.Errorf("jobs: stop: %w", err)
	}
	j.log.Debug("Jobs stopped.", "ms", time.Since(begin).Milliseconds())
	return nil
}

// InsertTx inserts a job inside the GORM transaction tx: it exists only if
// tx commits. A unique job already there (see UniqueWhileUnfinished) is
// not inserted again: the result says UniqueSkippedAsDuplicate.
func (j *Jobs) InsertTx(ctx context.Context, tx *gorm.DB, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	stx, ok := tx.Statement.ConnPool.(*sql.Tx)
	if !ok {
		return nil, fmt.Errorf("jobs: insert %s outside a transaction", args.Kind())
	}
	c, err := j.Client()
	if err != nil {
		return nil, err
	}
	res, err := c.InsertTx(ctx, stx, args, opts)
	if err != nil {
		return nil, fmt.Errorf("jobs: insert %s: %w", args.Kind(), err)
	}
	return res, nil
}

// RetryTx makes job id available now, when tx commits (River's
// JobRetryTx: a job not running is worked again at once).
func (j *Jobs) RetryTx(ctx context.Context, tx *gorm.DB, id int64) error {
	stx, ok := tx.Statement.ConnPool.(*sql.Tx)
	if !ok {
		return fmt.Errorf("jobs: retry %d outside a transaction", id)
	}
	c, err := j.Client()
	if err != nil {
		return err
	}
	if _, err := c.JobRetryTx(ctx, stx, id); err != nil {
		return fmt.Errorf("jobs: retry %d: %w", id, err)
	}
	return nil
}

// completeTx marks the running job completed inside tx (River's
// JobCompleteTx): the job finishes with the change that finishes its work,
// or neither does. The worker then returns nil.
func completeTx[T river.JobArgs](ctx context.Context, tx *gorm.DB, job *river.Job[T]) error {
	stx, ok := tx.Statement.ConnPool.(*sql.Tx)
	if !ok {
		return fmt.Errorf("jobs: complete %s outside a transaction", job.Kind)
	}
	if _, err := river.JobCompleteTx[*riverdatabasesql.Driver](ctx, stx, job); err != nil {
		return fmt.Errorf("jobs: complete %s %d: %w", job.Kind, job.ID, err)
	}
	return nil
}

// migrateRiver brings River's tables up to this River version, one
// transaction per River version (a later one uses an enum value an earlier
// one adds, which Postgres refuses within one transaction). The caller
// holds the migrations' advisory lock, so replicas starting together take
// turns.
func (s *Store) migrateRiver(ctx context.Context) (int, error) {
	sqlDB, err := s.db.DB()
	if err != nil {
		return 0, err
	}
	m, err := rivermigrate.New(riverdatabasesql.New(sqlDB), &rivermigrate.Config{Logger: riverLogger(s.log, nil)})
	if err != nil {
		return 0, err
	}
	res, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return 0, err
	}
	return len(res.Versions), nil
}
