package pgserver

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrLocked is returned (wrapped, so test it with errors.Is) by Start when
// another process already serves the same data directory.
var ErrLocked = errors.New("pgserver: data directory in use by another process")

// lockedError names the directory and the process that holds it.
type lockedError struct {
	dir string
	pid int // 0 when unknown
}

func (e *lockedError) Error() string {
	pid := "unknown"
	if e.pid > 0 {
		pid = strconv.Itoa(e.pid)
	}
	return fmt.Sprintf("another ksherdash is already using DATA_DIR %s (pid %s)", e.dir, pid)
}

func (e *lockedError) Is(target error) bool { return target == ErrLocked }

// lockDataDir takes an exclusive flock on dir/ksherdash.lock and writes our
// pid into it. The kernel drops a flock when its holder dies, even by
// SIGKILL, so a crash never leaves a stale lock. The file is opened
// close-on-exec (Go's default), so postgres does not inherit it.
//
// The file's second line names the holder's socket directory (see
// recordSocketDir). It returns the previous holder's, which a holder killed
// before its Stop could not remove.
func lockDataDir(dir string) (f *os.File, prevSockDir string, err error) {
	path := filepath.Join(dir, "ksherdash.lock")
	f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, "", fmt.Errorf("pgserver: open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, "", &lockedError{dir: dir, pid: lockHolder(path)}
		}
		return nil, "", fmt.Errorf("pgserver: lock %s: %w", path, err)
	}
	b, _ := io.ReadAll(f)
	_, prevSockDir, _ = strings.Cut(string(b), "\n")
	recordSocketDir(f, "")
	return f, strings.TrimSpace(prevSockDir), nil
}

// recordSocketDir writes our pid and socket directory into the lock file.
// Both are only hints (for the ErrLocked message and for cleaning up after
// a crash), so failing to write them is harmless.
func recordSocketDir(f *os.File, sockDir string) {
	_ = f.Truncate(0)
	_, _ = f.WriteAt(fmt.Appendf(nil, "%d\n%s\n", os.Getpid(), sockDir), 0)
}

// removeStaleSocketDir removes the socket directory of a lock holder that
// died without Stop, if it still looks like one of ours: a real directory
// (not a symlink) named like ours under /tmp and owned by the user that runs
// postgres. Holding the lock proves that holder is gone.
func removeStaleSocketDir(dir string) {
	if filepath.Dir(dir) != "/tmp" || !strings.HasPrefix(filepath.Base(dir), sockDirPrefix) {
		return
	}
	fi, err := os.Lstat(dir)
	if err != nil || !fi.IsDir() {
		return
	}
	uid := os.Geteuid()
	if as, err := lookupRunAs(); err == nil && as.cred != nil {
		uid = int(as.cred.Uid)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); !ok || int(st.Uid) != uid {
		return
	}
	_ = os.RemoveAll(dir)
}

// lockHolder reads the pid the holder wrote. The holder writes it just after
// locking, so an empty file gets one short second look.
func lockHolder(path string) int {
	for range 2 {
		b, _ := os.ReadFile(path)
		line, _, _ := strings.Cut(string(b), "\n")
		if pid, err := strconv.Atoi(line); err == nil {
			return pid
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 0
}

// unlock releases the lock. The file stays: deleting it could let two
// processes lock different inodes of the same name.
func unlock(f *os.File) error {
	if f == nil {
		return nil
	}
	return f.Close() // closing the only descriptor releases the flock
}
