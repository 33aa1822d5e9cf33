// Package pgserver runs a private PostgreSQL server as a child process: the
// embedded default database of ksherdash (when DATABASE_URL is unset) and,
// with Fast, the throw-away server behind models/pgtest.
//
// The server listens only on a unix socket in a private directory, keeps its
// data in Options.DataDir across restarts, and goes away with our process,
// even when that is killed. As root it runs as the postgres OS user, because
// PostgreSQL refuses to run as root. It needs the PostgreSQL server binaries
// (see FindBinaries) and Linux for the parent-death signal. With
// Options.Supervise, a postgres that exits on its own is started again at
// the same DSN (supervise.go).
package pgserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// sockDirPrefix names the socket directories under /tmp.
const sockDirPrefix = "ksherdash-sock-"

// Timeouts. Variables so tests can shorten them.
var (
	readyTimeout = 30 * time.Second // initdb and readiness, within ctx
	stopTimeout  = 10 * time.Second // fast shutdown before SIGQUIT
	pollInterval = 20 * time.Millisecond
)

// Options configures Start.
type Options struct {
	// DataDir holds the cluster (DataDir/data), its log (DataDir/postgres.log)
	// and the lock file. It is made absolute and created with mode 0700 (its
	// missing parents 0755). As root, every parent must be traversable by the
	// postgres user, so prefer a directory under /tmp there.
	DataDir string
	// BinDir holds initdb and postgres; empty means FindBinaries.
	BinDir string
	// Port only names the socket file (.s.PGSQL.<Port>): there is no TCP
	// listener. Zero means 5432.
	Port int
	// Fast trades durability for speed: initdb --no-sync, fsync=off,
	// synchronous_commit=off, full_page_writes=off. A crash of the machine
	// can then corrupt the data, so it is for throw-away test servers only,
	// never for the embedded default.
	Fast bool
	// Logger gets startup and shutdown events; nil discards them.
	Logger *slog.Logger
	// Supervise restarts postgres when it exits on its own (a crash, a kill),
	// a bounded number of times with backoff, at the same DSN; Failed then
	// reports a server that could not be brought back. The embedded default
	// sets it.
	Supervise bool
}

// Server is a running private PostgreSQL server. Stop it with Stop.
type Server struct {
	log     *slog.Logger
	dataDir string
	sockDir string
	port    int
	lock    *os.File

	binDir string
	as     runAs
	fast   bool

	mu   sync.Mutex
	proc *proc // the running (or last) postgres process
	held bool  // Suspend stopped it on purpose; Resume starts it again

	// Supervision (see supervise.go): stop ends it, supDone is closed when
	// it has ended, failed gets the error when postgres cannot be restarted.
	stop    context.CancelFunc
	supDone chan struct{}
	failed  chan error

	stopOnce sync.Once
	stopErr  error
}

// Start initializes the cluster in o.DataDir if needed (once), starts
// postgres and returns when it accepts connections. ctx bounds only the
// startup (at most about 30 s); the server runs until Stop or until our
// process exits.
//
// Errors wrap ErrNoBinaries when PostgreSQL is not installed and ErrLocked
// when another process serves the same DataDir.
func Start(ctx context.Context, o Options) (*Server, error) {
	begin := time.Now()
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	if o.DataDir == "" {
		return nil, errors.New("pgserver: Options.DataDir is empty")
	}
	dataDir, err := filepath.Abs(o.DataDir)
	if err != nil {
		return nil, fmt.Errorf("pgserver: %w", err)
	}
	binDir := o.BinDir
	if binDir == "" {
		if binDir, err = FindBinaries(); err != nil {
			return nil, err
		}
	} else if !hasBinaries(binDir) {
		return nil, fmt.Errorf("BinDir %s holds no initdb and postgres: %w", binDir, ErrNoBinaries)
	}
	as, err := lookupRunAs()
	if err != nil {
		return nil, err
	}
	if err := makeDataDir(dataDir, as); err != nil {
		return nil, err
	}
	lock, prevSockDir, err := lockDataDir(dataDir)
	if err != nil {
		return nil, err
	}
	if prevSockDir != "" {
		removeStaleSocketDir(prevSockDir)
	}

	s := &Server{log: o.Logger, dataDir: dataDir, port: o.Port, lock: lock, binDir: binDir, as: as, fast: o.Fast,
		failed: make(chan error, 1)}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.port == 0 {
		s.port = 5432
	}
	if err := s.start(ctx); err != nil {
		_ = s.shutdown() // a half-started server: its own error says nothing new
		return nil, err
	}
	if o.Supervise {
		s.startSupervisor()
	}
	s.log.Info("postgres ready", slog.String("data_dir", dataDir),
		slog.String("socket_dir", s.sockDir), slog.Bool("fast", o.Fast),
		slog.Duration("duration", time.Since(begin)))
	return s, nil
}

// start runs initdb if needed, then postgres, and waits until it is ready.
// Whatever it has set up is undone by shutdown.
func (s *Server) start(ctx context.Context) error {
	if err := s.initdb(ctx, s.binDir, s.as, s.fast); err != nil {
		return err
	}

	// A fresh, private socket directory with a short path: a unix socket path
	// must fit in about 100 bytes, and Debian's /var/run/postgresql is not
	// ours to write.
	sockDir, err := os.MkdirTemp("/tmp", sockDirPrefix)
	if err != nil {
		return fmt.Errorf("pgserver: socket directory: %w", err)
	}
	s.sockDir = sockDir
	recordSocketDir(s.lock, sockDir)
	if err := s.as.chown(sockDir); err != nil {
		return err
	}
	p, err := s.launch(ctx)
	if p != nil {
		s.proc = p // for shutdown, even if it did not get ready
	}
	return err
}

// proc is one run of the postgres process.
type proc struct {
	cmd     *exec.Cmd
	exited  chan struct{} // closed when postgres has exited
	waitErr error         // cmd.Wait's result, set before exited is closed
}

// launch starts postgres on the cluster and socket directory set up by
// start and waits until it is ready. It returns the process whenever one
// was started, ready or not, so the caller can stop it.
func (s *Server) launch(ctx context.Context) (*proc, error) {
	logFile, logStart, err := openLog(filepath.Join(s.dataDir, "postgres.log"), s.as)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child has its own copy

	args := []string{
		"-D", filepath.Join(s.dataDir, "data"),
		"-p", strconv.Itoa(s.port),
		// Only a unix socket, in a directory that only the postgres user (or,
		// as non-root, we) can enter. That privacy is what makes initdb's
		// "-A trust" acceptable: nobody else can reach the socket, and root,
		// who can, could read the data files anyway.
		"-c", "listen_addresses=",
		"-k", s.sockDir,
		"-c", "unix_socket_permissions=0700",
	}
	if s.fast {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off",
			"-c", "full_page_writes=off")
	}
	cmd := exec.Command(filepath.Join(s.binDir, "postgres"), args...)
	cmd.Dir = s.dataDir // our own working directory may be closed to the postgres user
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// SIGQUIT is postgres' immediate shutdown: if we die, it stops at once
	// and takes its backends with it.
	cmd.SysProcAttr = sysProcAttr(s.as.cred, syscall.SIGQUIT)
	done, err := startLocked(cmd)
	if err != nil {
		return nil, fmt.Errorf("pgserver: start postgres: %w", err)
	}
	p := &proc{cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.waitErr = <-done
		close(p.exited)
	}()
	return p, s.waitReady(ctx, p, logFile.Name(), logStart)
}

// initdb creates DataDir/data unless it already holds a cluster. It
// initializes into DataDir/data-init and renames that on success, so a
// killed initdb never leaves a half-made cluster that looks real.
func (s *Server) initdb(ctx context.Context, binDir string, as runAs, fast bool) error {
	data := filepath.Join(s.dataDir, "data")
	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); err == nil {
		return nil
	}
	if err := os.Remove(data); err != nil && !errors.Is(err, os.ErrNotExist) {
		// Remove fails on a directory that is not empty: not ours to touch.
		return fmt.Errorf("pgserver: %s exists but holds no PostgreSQL cluster (no PG_VERSION): %w", data, err)
	}
	tmp := filepath.Join(s.dataDir, "data-init")
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("pgserver: remove leftover %s: %w", tmp, err)
	}

	begin := time.Now()
	args := []string{"-D", tmp, "-U", "postgres", "-A", "trust", "-E", "UTF8",
		"--locale=C.UTF-8", "--no-instructions"}
	if fast {
		args = append(args, "--no-sync")
	}
	var out bytes.Buffer
	cmd := exec.Command(filepath.Join(binDir, "initdb"), args...)
	cmd.Dir = s.dataDir
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = sysProcAttr(as.cred, syscall.SIGKILL)
	done, err := startLocked(cmd)
	if err != nil {
		return fmt.Errorf("pgserver: start initdb: %w", err)
	}
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		<-done
		err = ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("pgserver: initdb: %w\n%s", err, tail(out.Bytes()))
	}
	if err := os.Rename(tmp, data); err != nil {
		return fmt.Errorf("pgserver: %w", err)
	}
	s.log.Info("postgres cluster created", slog.String("data_dir", s.dataDir),
		slog.Duration("duration", time.Since(begin)))
	return nil
}

// waitReady polls a connection every pollInterval until postgres accepts
// it, postgres exits (the error then ends with the new part of its log), or
// ctx ends.
func (s *Server) waitReady(ctx context.Context, p *proc, logPath string, logStart int64) error {
	dsn := s.DSN("postgres")
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	for {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		conn, err := pgx.Connect(cctx, dsn)
		cancel()
		if err == nil {
			return conn.Close(ctx)
		}
		select {
		case <-p.exited:
			return fmt.Errorf("pgserver: postgres exited during startup (%v); %s ends with:\n%s",
				p.waitErr, logPath, logTail(logPath, logStart))
		case <-ctx.Done():
			return fmt.Errorf("pgserver: postgres not ready: %w (last try: %v); %s ends with:\n%s",
				ctx.Err(), err, logPath, logTail(logPath, logStart))
		case <-ticker.C:
		}
	}
}

// DSN returns a keyword/value connection string for database dbname on this
// server: "host=<socket dir> port=<port> user=postgres dbname=<dbname>
// sslmode=disable".
func (s *Server) DSN(dbname string) string {
	return fmt.Sprintf("host=%s port=%d user=postgres dbname=%s sslmode=disable",
		quoteDSN(s.sockDir), s.port, quoteDSN(dbname))
}

// Stop shuts postgres down (SIGINT, its fast shutdown: open transactions are
// rolled back and a checkpoint is written), waits for it, falls back to
// SIGQUIT after about 10 s, then removes the socket directory and releases
// the data directory lock. It is safe to call more than once; later calls
// return the first result.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		begin := time.Now()
		s.stopSupervisor()
		s.stopErr = s.shutdown()
		s.log.Info("postgres stopped", slog.String("data_dir", s.dataDir),
			slog.Duration("duration", time.Since(begin)))
	})
	return s.stopErr
}

// shutdown undoes whatever start has set up, in reverse order.
func (s *Server) shutdown() error {
	var errs []error
	s.mu.Lock()
	p, held := s.proc, s.held
	s.mu.Unlock()
	if p != nil && !held {
		errs = append(errs, s.stopPostgres(p))
	}
	if s.sockDir != "" {
		errs = append(errs, os.RemoveAll(s.sockDir))
	}
	errs = append(errs, unlock(s.lock))
	return errors.Join(errs...)
}

func (s *Server) stopPostgres(p *proc) error {
	select {
	case <-p.exited:
		return fmt.Errorf("pgserver: postgres had exited on its own: %v", p.waitErr)
	default:
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.exited:
		return p.waitErr
	case <-time.After(stopTimeout):
	}
	s.log.Warn("postgres did not stop in time; sending SIGQUIT", slog.Duration("waited", stopTimeout))
	_ = p.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-p.exited:
		return fmt.Errorf("pgserver: postgres ignored fast shutdown for %s; stopped it with SIGQUIT", stopTimeout)
	case <-time.After(5 * time.Second):
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL) // the whole process group
	<-p.exited
	return errors.New("pgserver: postgres ignored SIGINT and SIGQUIT; killed it")
}

// Remove deletes the data directory dir of a server that no longer runs,
// and the socket directory that server left behind if it was killed before
// its Stop. It fails with ErrLocked while a server uses dir, and does
// nothing if dir does not exist.
func Remove(dir string) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("pgserver: %w", err)
	}
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	lock, prevSockDir, err := lockDataDir(dir)
	if err != nil {
		return err
	}
	defer unlock(lock)
	if prevSockDir != "" {
		removeStaleSocketDir(prevSockDir)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("pgserver: %w", err)
	}
	return nil
}

// makeDataDir creates dir (0700; missing parents 0755 so that the postgres
// user can pass through them), checks that the user running postgres can
// reach it, and gives it to that user.
func makeDataDir(dir string, as runAs) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("pgserver: %w", err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("pgserver: %w", err)
	}
	if err := as.checkTraversable(dir); err != nil {
		return err
	}
	return as.chown(dir)
}

// openLog opens the append-only server log and returns its current size, so
// that an error can quote only what this run wrote. A log past 10 MB is
// moved to postgres.log.1 first.
func openLog(path string, as runAs) (*os.File, int64, error) {
	if fi, err := os.Stat(path); err == nil && fi.Size() > 10<<20 {
		_ = os.Rename(path, path+".1")
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, 0, fmt.Errorf("pgserver: open log: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("pgserver: open log: %w", err)
	}
	if err := as.chown(path); err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, fi.Size(), nil
}

// logTail returns the last lines written to path since offset.
func logTail(path string, offset int64) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	b, err := io.ReadAll(io.NewSectionReader(f, offset, 1<<20))
	if err != nil {
		return err.Error()
	}
	return tail(b)
}

// tail returns at most the last 20 lines of b.
func tail(b []byte) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return strings.Join(lines, "\n")
}

// quoteDSN quotes a keyword/value DSN value when it needs it.
func quoteDSN(v string) string {
	if v != "" && !strings.ContainsAny(v, ` '\`) {
		return v
	}
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}
