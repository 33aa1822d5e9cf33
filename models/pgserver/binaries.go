package pgserver

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// ErrNoBinaries is returned by FindBinaries and Start when the PostgreSQL
// server programs (initdb and postgres) cannot be found.
var ErrNoBinaries = errors.New("PostgreSQL server binaries (initdb, postgres) not found: " +
	"install the PostgreSQL server (e.g. `apt-get install postgresql`) or set DATABASE_URL " +
	"to use an existing database")

// libDir is where Debian and Ubuntu install one bin directory per major
// version. A variable so tests can point it elsewhere.
var libDir = "/usr/lib/postgresql"

// FindBinaries returns the directory holding initdb and postgres. It looks at
// $PG_BIN first (which, when set, must be right: it is never silently
// ignored), then at initdb on $PATH with symlinks resolved, then at the newest
// /usr/lib/postgresql/<version>/bin, comparing versions numerically (9.6 < 15
// < 16). The error wraps ErrNoBinaries.
func FindBinaries() (string, error) {
	if dir := os.Getenv("PG_BIN"); dir != "" {
		if !hasBinaries(dir) {
			return "", fmt.Errorf("PG_BIN=%s holds no initdb and postgres: %w", dir, ErrNoBinaries)
		}
		return filepath.Abs(dir)
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil && hasBinaries(filepath.Dir(real)) {
			return filepath.Abs(filepath.Dir(real))
		}
	}
	dirs, _ := filepath.Glob(filepath.Join(libDir, "*", "bin"))
	slices.SortFunc(dirs, func(a, b string) int { // newest first
		return compareVersions(filepath.Base(filepath.Dir(b)), filepath.Base(filepath.Dir(a)))
	})
	for _, dir := range dirs {
		if hasBinaries(dir) {
			return dir, nil
		}
	}
	return "", ErrNoBinaries
}

// hasBinaries reports whether dir holds executable initdb and postgres files.
func hasBinaries(dir string) bool {
	for _, name := range []string{"initdb", "postgres"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			return false
		}
	}
	return true
}

// compareVersions compares dotted versions such as "9.6" and "15" part by
// part as numbers; a part that is not a number sorts before any number.
func compareVersions(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(pa), len(pb)) {
		if c := cmp.Compare(versionPart(pa, i), versionPart(pb, i)); c != 0 {
			return c
		}
	}
	return 0
}

func versionPart(parts []string, i int) int {
	if i >= len(parts) {
		return 0
	}
	n, err := strconv.Atoi(parts[i])
	if err != nil {
		return -1
	}
	return n
}
