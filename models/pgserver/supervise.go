package pgserver

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Restart policy of a supervised server. Variables so tests can shorten
// them. The first attempt comes at once; a postmaster that was killed can
// leave backends behind for a moment, whose shared memory makes the next
// start fail ("pre-existing shared memory block is still in use"), hence
// the retries.
var (
	restartAttempts = 5
	restartBackoff  = 500 * time.Millisecond // doubled after each failure
)

// PID returns the process id of the postgres server process (the
// postmaster) now running, or 0.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil || s.held {
		return 0
	}
	return s.proc.cmd.Process.Pid
}

// Failed returns a channel that receives the error when a supervised
// postgres exited and could not be restarted: the database is gone for
// good, and the program should exit.
func (s *Server) Failed() <-chan error { return s.failed }

// Suspend stops postgres on purpose (its fast shutdown), keeping the socket
// directory and the lock, so Resume brings it back at the same DSN: an
// outage on demand, for tests of what the program does without its
// database. A supervised server does not restart a suspended postgres.
func (s *Server) Suspend() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held || s.proc == nil {
		return nil
	}
	s.held = true
	err := s.stopPostgres(s.proc)
	s.log.Info("postgres suspended", slog.String("data_dir", s.dataDir))
	return err
}

// Resume starts postgres again after Suspend and waits until it is ready.
func (s *Server) Resume(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.held {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	p, err := s.launch(ctx)
	if err != nil {
		if p != nil {
			_ = s.stopPostgres(p)
		}
		return err
	}
	s.proc, s.held = p, false
	s.log.Info("postgres resumed", slog.String("data_dir", s.dataDir))
	return nil
}

func (s *Server) startSupervisor() {
	ctx, cancel := context.WithCancel(context.Background())
	s.stop, s.supDone = cancel, make(chan struct{})
	go s.supervise(ctx)
}

// stopSupervisor ends the supervision and waits for it, so that Stop's
// shutdown is not raced by a restart.
func (s *Server) stopSupervisor() {
	if s.stop != nil {
		s.stop()
		<-s.supDone
	}
}

// supervise waits for the postgres process to exit; unless that was Stop or
// Suspend, it restarts it, and reports on Failed when it cannot.
func (s *Server) supervise(ctx context.Context) {
	defer close(s.supDone)
	for {
		s.mu.Lock()
		p := s.proc
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-p.exited:
		}
		s.mu.Lock()
		held, current := s.held, s.proc == p
		s.mu.Unlock()
		if !current {
			continue // Resume started a new one
		}
		if held {
			if !sleep(ctx, pollInterval) {
				return
			}
			continue
		}
		s.log.Warn("postgres exited unexpectedly; restarting it", slog.String("data_dir", s.dataDir),
			slog.Any("exit", p.waitErr))
		if err := s.restart(ctx); err != nil {
			if ctx.Err() == nil {
				s.log.Error("postgres could not be restarted", slog.Any("error", err))
				s.failed <- err
			}
			return
		}
	}
}

// restart starts postgres again, up to restartAttempts times with backoff.
func (s *Server) restart(ctx context.Context) error {
	begin := time.Now()
	wait := restartBackoff
	var last error
	for attempt := 1; attempt <= restartAttempts; attempt++ {
		lctx, cancel := context.WithTimeout(ctx, readyTimeout)
		s.mu.Lock()
		p, err := s.launch(lctx)
		if err == nil {
			s.proc = p
		}
		s.mu.Unlock()
		cancel()
		if err == nil {
			s.log.Info("postgres restarted", slog.Int("attempt", attempt), slog.Duration("duration", time.Since(begin)))
			return nil
		}
		if p != nil {
			_ = s.stopPostgres(p)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.log.Warn("postgres restart failed", slog.Int("attempt", attempt), slog.Any("error", err))
		last = err
		if attempt < restartAttempts && !sleep(ctx, wait) {
			return ctx.Err()
		}
		wait *= 2
	}
	return fmt.Errorf("pgserver: postgres exited and %d restarts failed; the last: %w", restartAttempts, last)
}

// sleep waits d or until ctx ends, and reports whether it waited d.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
