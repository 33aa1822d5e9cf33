package models_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"gorm.io/gorm"

	"github.com/ksherdash/ksherdash/models"
)

// testJobConfig is the engine as tests run it: fast polling, River's test
// mode, a short stop bound.
func testJobConfig() models.JobsConfig {
	return models.JobsConfig{FetchPollInterval: 50 * time.Millisecond, StopTimeout: 300 * time.Millisecond, TestOnly: true}
}

// MustJobs returns a job engine over s; fn registers its workers before
// the client is made. The engine is stopped when the test ends.
func MustJobs(tb testing.TB, s *models.Store, cfg models.JobsConfig) *models.Jobs {
	tb.Helper()
	j, err := models.NewJobs(s, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := j.Stop(context.Background()); err != nil {
			tb.Errorf("stop jobs: %v", err)
		}
	})
	return j
}

// waitFor polls cond every 20 ms until it holds or the timeout passes.
func waitFor(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	for deadline := time.Now().Add(timeout); !cond(); {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type pingArgs struct {
	N int `json:"n"`
}

func (pingArgs) Kind() string { return "test_ping" }

type pingWorker struct {
	river.WorkerDefaults[pingArgs]
	runs atomic.Int64
	sum  atomic.Int64
}

func (w *pingWorker) Work(ctx context.Context, j *river.Job[pingArgs]) error {
	w.runs.Add(1)
	w.sum.Add(int64(j.Args.N))
	return nil
}

// A job inserted in a transaction that commits is worked once; one whose
// transaction rolls back never exists.
func TestJobInsertTxFollowsTheTransaction(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	jobs := MustJobs(t, s, testJobConfig())
	w := &pingWorker{}
	if err := models.AddWorkerForTest(jobs, w); err != nil {
		t.Fatal(err)
	}
	if err := jobs.Start(ctx); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := s.TransactionForTest(ctx, func(tx *gorm.DB) error {
		if _, err := jobs.InsertTx(ctx, tx, pingArgs{N: 100}, nil); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("rolled-back transaction = %v", err)
	}
	if err := s.TransactionForTest(ctx, func(tx *gorm.DB) error {
		_, err := jobs.InsertTx(ctx, tx, pingArgs{N: 1}, nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the committed job to run", func() bool { return w.runs.Load() == 1 })
	var n int64
	if err := s.ScanForTest(ctx, &n, `SELECT count(*) FROM river_job WHERE kind = 'test_ping'`); err != nil {
		t.Fatal(err)
	}
	if n != 1 || w.sum.Load() != 1 {
		t.Errorf("river_job rows = %d, worked sum = %d; want only the committed job (1)", n, w.sum.Load())
	}
	if _, err := jobs.InsertTx(ctx, &gorm.DB{Statement: &gorm.Statement{}}, pingArgs{}, nil); err == nil {
		t.Error("InsertTx outside a transaction = nil error")
	}
}

type blockArgs struct{}

func (blockArgs) Kind() string { return "test_block" }

type blockWorker struct {
	river.WorkerDefaults[blockArgs]
	started, cancelled chan struct{}
}

func (w *blockWorker) Work(ctx context.Context, j *river.Job[blockArgs]) error {
	close(w.started)
	<-ctx.Done()
	close(w.cancelled)
	return ctx.Err()
}

// Stop waits for a running job up to its bound, then cancels it, and
// returns soon after: shutdown is never held by a job that does not end.
func TestJobsStopIsBounded(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	cfg := testJobConfig()
	jobs, err := models.NewJobs(s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	w := &blockWorker{started: make(chan struct{}), cancelled: make(chan struct{})}
	if err := models.AddWorkerForTest(jobs, w); err != nil {
		t.Fatal(err)
	}
	if err := jobs.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.TransactionForTest(ctx, func(tx *gorm.DB) error {
		_, err := jobs.InsertTx(ctx, tx, blockArgs{}, nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w.started:
	case <-time.After(10 * time.Second):
		t.Fatal("the job never started")
	}
	begin := time.Now()
	if err := jobs.Stop(ctx); err != nil {
		t.Fatalf("Stop = %v", err)
	}
	took := time.Since(begin)
	select {
	case <-w.cancelled:
	default:
		t.Error("Stop returned before the running job was cancelled")
	}
	if took < cfg.StopTimeout || took > cfg.StopTimeout+3*time.Second {
		t.Errorf("Stop took %v, want about the %v bound (the job had that long to finish)", took, cfg.StopTimeout)
	}
	if err := models.AddWorkerForTest(jobs, &pingWorker{}); err == nil {
		t.Error("a worker registered after the client was made was accepted")
	}
}
