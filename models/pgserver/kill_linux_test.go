package pgserver

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// helperEnv, when set to a data directory, turns TestHelperServer into the
// body of a separate process that starts a server there and then waits to be
// killed.
const helperEnv = "PGSERVER_TEST_HELPER_DIR"

// TestKilledOwnerStopsPostgres SIGKILLs a process that owns a server and
// checks that postgres and all its children go away (Pdeathsig), and that
// the data directory starts again at once with its committed data.
func TestKilledOwnerStopsPostgres(t *testing.T) {
	requireBinaries(t)
	dir := newDataDir(t)

	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperServer$", "-test.timeout=2m", "-test.v")
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	var pid int
	var sockDir string
	sc := bufio.NewScanner(stdout)
	for pid == 0 && sc.Scan() {
		fmt.Sscanf(sc.Text(), "postgres pid=%d socket_dir=%s", &pid, &sockDir)
	}
	if pid == 0 {
		t.Fatalf("helper did not report a postgres pid (scan error: %v)", sc.Err())
	}
	// The backends call setsid, so they are found by parent, not by group.
	procs := append([]int{pid}, children(pid)...)
	if len(procs) < 3 {
		t.Fatalf("postgres processes = %v, want the postmaster and its backends", procs)
	}

	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no deferred Stop can run
		t.Fatal(err)
	}
	cmd.Wait()
	killed := time.Now()
	for len(alive(procs)) > 0 && time.Since(killed) < 5*time.Second {
		time.Sleep(20 * time.Millisecond)
	}
	if left := alive(procs); len(left) > 0 {
		t.Fatalf("5s after SIGKILL of its owner, postgres processes %v still run, want none", left)
	}
	t.Logf("postgres (pid %d) and its %d children gone %v after the owner's SIGKILL",
		pid, len(procs)-1, time.Since(killed).Round(time.Millisecond))

	// The kernel dropped the flock with the helper, postgres copes with what
	// the crash left behind (postmaster.pid, WAL to replay), and the
	// committed row is there.
	begin := time.Now()
	s := mustStart(t, Options{DataDir: dir})
	t.Logf("restart after the crash: %v", time.Since(begin))
	var n int
	mustQueryRow(t, s.DSN("postgres"), "SELECT count(*) FROM crash_test", &n)
	if n != 1 {
		t.Errorf("rows after crash = %d, want 1", n)
	}
	if _, err := os.Stat(sockDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("crashed owner's socket dir %s after restart: stat error = %v, want %v",
			sockDir, err, os.ErrNotExist)
	}
}

// TestHelperServer is not a test: see helperEnv.
func TestHelperServer(t *testing.T) {
	dir := os.Getenv(helperEnv)
	if dir == "" {
		t.Skip("helper process for TestKilledOwnerStopsPostgres")
	}
	// Durable settings, as for the embedded default: a committed row must
	// survive the crash. (With Fast, synchronous_commit=off may lose it.)
	s, err := Start(t.Context(), Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, s.DSN("postgres"), "CREATE TABLE crash_test (v int); INSERT INTO crash_test VALUES (1)")
	fmt.Printf("postgres pid=%d socket_dir=%s\n", s.PID(), s.sockDir)
	time.Sleep(time.Minute) // until the parent kills us
	t.Fatal("helper was not killed")
}

// children returns the live processes whose parent is pid.
func children(pid int) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var pids []int
	for _, path := range stats {
		child, _ := strconv.Atoi(filepath.Base(filepath.Dir(path)))
		if state, ppid := procStat(child); state != "" && ppid == pid {
			pids = append(pids, child)
		}
	}
	return pids
}

// alive returns those of pids that still run; a zombie counts as gone (it
// only waits for a parent to reap it, which PID 1 of a container may never
// do).
func alive(pids []int) []int {
	var live []int
	for _, pid := range pids {
		if state, _ := procStat(pid); state != "" {
			live = append(live, pid)
		}
	}
	return live
}

// procStat returns the state and parent of a live process, or "" when it is
// gone or a zombie.
func procStat(pid int) (state string, ppid int) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", 0
	}
	// The fields after the command name, which is in parentheses and may hold
	// spaces, start with: state ppid.
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 2 || fields[0] == "Z" || fields[0] == "X" {
		return "", 0
	}
	ppid, _ = strconv.Atoi(fields[1])
	return fields[0], ppid
}
