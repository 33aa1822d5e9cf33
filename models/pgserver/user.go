package pgserver

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// runAs is the OS user that runs initdb and postgres.
type runAs struct {
	cred *syscall.Credential // nil: ourselves
	name string
}

// owner returns the account that should own the directories postgres writes
// to, or -1, -1 when that is ourselves and no chown is needed.
func (r runAs) owner() (uid, gid int) {
	if r.cred == nil {
		return -1, -1
	}
	return int(r.cred.Uid), int(r.cred.Gid)
}

// chown gives path to the user that runs postgres (a no-op when that is us).
func (r runAs) chown(path string) error {
	uid, gid := r.owner()
	if uid < 0 {
		return nil
	}
	if err := os.Chown(path, uid, gid); err != nil {
		return fmt.Errorf("pgserver: give %s to the %s user: %w", path, r.name, err)
	}
	return nil
}

// lookupRunAs decides who runs postgres. PostgreSQL refuses to run as root
// ("cannot be run as root"), so root uses the postgres OS user; anyone else
// runs it as themselves. The user is never created here: setup scripts do
// that.
func lookupRunAs() (runAs, error) {
	if os.Geteuid() != 0 {
		return runAs{name: "current"}, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return runAs{}, fmt.Errorf("pgserver: PostgreSQL refuses to run as root and there is no "+
			"postgres OS user to run it as: create one (useradd --system --no-create-home "+
			"--shell /usr/sbin/nologin postgres) or set DATABASE_URL: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return runAs{}, fmt.Errorf("pgserver: postgres OS user: %w", err)
	}
	// Groups is empty on purpose: setgroups drops root's supplementary groups,
	// so the child has exactly postgres' uid and primary gid, which is what
	// checkTraversable assumes.
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
	return runAs{cred: cred, name: "postgres"}, nil
}

// checkTraversable fails with one line naming the first parent of dir that
// the postgres user cannot search (execute permission), e.g. a checkout
// inside root's 0700 home. It reads mode bits and ownership only; ACLs are
// not considered.
func (r runAs) checkTraversable(dir string) error {
	uid, gid := r.owner()
	if uid < 0 {
		return nil
	}
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("pgserver: %w", err)
		}
		if !canSearch(fi, uid, gid) {
			return fmt.Errorf("pgserver: the postgres user cannot reach DATA_DIR %s because %s "+
				"(mode %04o) is not traversable by it; set DATA_DIR to a directory under /tmp "+
				"(or chmod o+x %s)", dir, p, fi.Mode().Perm(), p)
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

func canSearch(fi fs.FileInfo, uid, gid int) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return true // cannot tell; let postgres report it
	}
	perm := fi.Mode().Perm()
	switch {
	case int(st.Uid) == uid:
		return perm&0o100 != 0
	case int(st.Gid) == gid:
		return perm&0o010 != 0
	default:
		return perm&0o001 != 0
	}
}
