package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestLoadConfigRejectsBadValues(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantVar string
	}{
		{"listen addr", map[string]string{"LISTEN_ADDR": "8080"}, "LISTEN_ADDR"},
		{"base url", map[string]string{"BASE_URL": "example.com"}, "BASE_URL"},
		{"log level", map[string]string{"LOG_LEVEL": "loud"}, "LOG_LEVEL"},
		{"log format", map[string]string{"LOG_FORMAT": "xml"}, "LOG_FORMAT"},
		{"short secret", map[string]string{"SECRET_KEY": "short"}, "SECRET_KEY"},
		{"secret twice", map[string]string{"SECRET_KEY": strings.Repeat("k", 40), "SECRET_KEY_FILE": "/x"}, "SECRET_KEY"},
		{"missing secret file", map[string]string{"SECRET_KEY_FILE": "/nonexistent/key"}, "SECRET_KEY_FILE"},
		{"database url", map[string]string{"DATABASE_URL": "mysql:nope"}, "DATABASE_URL"},
		{"time zone", map[string]string{"TIME_ZONE": "Mars/Olympus"}, "TIME_ZONE"},
		{"idle timeout", map[string]string{"SESSION_IDLE_TIMEOUT": "-5m"}, "SESSION_IDLE_TIMEOUT"},
		{"idle timeout too short", map[string]string{"SESSION_IDLE_TIMEOUT": "5s"}, "SESSION_IDLE_TIMEOUT"},
		{"sandbox", map[string]string{"SANDBOX": "maybe"}, "SANDBOX"},
		{"refund reconcile", map[string]string{"REFUND_RECONCILE_FOR": "a day"}, "REFUND_RECONCILE_FOR"},
		{"refund reconcile zero", map[string]string{"REFUND_RECONCILE_FOR": "0s"}, "REFUND_RECONCILE_FOR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig(func(k string) string { return tt.env[k] })
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a ConfigError", err)
			}
			if ce.Var != tt.wantVar {
				t.Errorf("var = %s, want %s", ce.Var, tt.wantVar)
			}
			if strings.Contains(ce.Error(), "\n") {
				t.Errorf("message spans lines: %q", ce.Error())
			}
		})
	}
}

func TestLoadConfigDefaultsAndSecretFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "key")
	if err := os.WriteFile(file, []byte(strings.Repeat("s", 40)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := loadConfig(func(k string) string { return map[string]string{"SECRET_KEY_FILE": file}[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.SecretKey != strings.Repeat("s", 40) {
		t.Errorf("secret key from file not trimmed/read: %d chars", len(c.SecretKey))
	}
	if c.ListenAddr != "127.0.0.1:8080" || c.TimeZone.String() != "Asia/Bangkok" || c.SessionIdle != 30*time.Minute || c.SessionMaxAge != 12*time.Hour {
		t.Errorf("defaults = %s %s %s %s", c.ListenAddr, c.TimeZone, c.SessionIdle, c.SessionMaxAge)
	}
	if c.RefundReconcileFor != 24*time.Hour {
		t.Errorf("REFUND_RECONCILE_FOR default = %s, want 24h", c.RefundReconcileFor)
	}
	if !filepath.IsAbs(c.DataDir) {
		t.Errorf("DATA_DIR %q not made absolute", c.DataDir)
	}
}

// An idle timeout under a minute is accepted (down to 10 s): sessions in
// use record activity every half idle timeout, so they stay alive.
func TestLoadConfigShortIdleTimeout(t *testing.T) {
	c, err := loadConfig(func(k string) string { return map[string]string{"SESSION_IDLE_TIMEOUT": "30s"}[k] })
	if err != nil {
		t.Fatalf("SESSION_IDLE_TIMEOUT=30s: %v", err)
	}
	if c.SessionIdle != 30*time.Second {
		t.Errorf("SESSION_IDLE_TIMEOUT=30s gives %s", c.SessionIdle)
	}
	if _, err := loadConfig(func(k string) string { return map[string]string{"SESSION_IDLE_TIMEOUT": "10s"}[k] }); err != nil {
		t.Errorf("SESSION_IDLE_TIMEOUT=10s: %v", err)
	}
}

// https in any case is https: secure cookies and HSTS follow
// strings.HasPrefix(BASE_URL, "https://").
func TestLoadConfigBaseURLSchemeIsLowerCase(t *testing.T) {
	c, err := loadConfig(func(k string) string { return map[string]string{"BASE_URL": "HTTPS://Pay.Example.com/"}[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseURL != "https://Pay.Example.com" {
		t.Errorf("BASE_URL = %q, want https://Pay.Example.com", c.BaseURL)
	}
}

// runMain runs this test binary as the real program (see TestMain) and
// returns its exit code, stdout and stderr.
func runMain(t *testing.T, args string, env ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append([]string{"KSHERDASH_RUN_MAIN=1", "KSHERDASH_ARGS=" + args, "PATH=" + os.Getenv("PATH")}, env...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String(), errb.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), out.String(), errb.String()
	}
	t.Fatalf("run: %v", err)
	return 0, "", ""
}

func TestUnreachableDatabaseFailsWithOneLine(t *testing.T) {
	code, out, stderr := runMain(t, "", "DATABASE_URL=postgres://nobody@127.0.0.1:1/x", "DATA_DIR="+mustTempDir(t), "LISTEN_ADDR=127.0.0.1:0")
	if code == 0 {
		t.Fatalf("exit code 0; stdout %q", out)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "DATABASE_URL") {
		t.Errorf("stderr = %q, want one line naming DATABASE_URL", stderr)
	}
	if strings.Contains(out, "listening") {
		t.Errorf("printed a URL although the database is unreachable: %q", out)
	}
}

func TestBadConfigExitsTwo(t *testing.T) {
	code, _, stderr := runMain(t, "", "LOG_FORMAT=xml", "DATA_DIR="+mustTempDir(t))
	if code != 2 {
		t.Errorf("exit code = %d, want 2", code)
	}
	if got := strings.TrimSpace(stderr); strings.Count(got, "\n") != 0 || !strings.Contains(got, "LOG_FORMAT") || strings.Contains(got, "goroutine") {
		t.Errorf("stderr = %q, want one line naming LOG_FORMAT", stderr)
	}
}

func TestUnknownCommandExitsTwo(t *testing.T) {
	code, _, stderr := runMain(t, "frobnicate")
	if code != 2 || !strings.Contains(stderr, "unknown command") {
		t.Errorf("code = %d, stderr = %q", code, stderr)
	}
}

// The embedded default: a restart keeps people, a second process on the
// same DATA_DIR is refused, and stopping leaves no postgres behind.
func TestEmbeddedPostgresRestartLockAndCleanStop(t *testing.T) {
	dataDir := mustTempDir(t)
	env := func() map[string]string { return map[string]string{"DATA_DIR": dataDir} }
	start := time.Now()
	first := startApp(t, env())
	t.Logf("first start (initdb included) to listening: %s", time.Since(start))
	if first.Password == "" {
		t.Fatalf("first start printed no one-time password:\n%s", first.Stdout.String())
	}

	// A second start on the same DATA_DIR fails at once with a clear message.
	err := run(context.Background(), nil, func(k string) string {
		return map[string]string{"DATA_DIR": dataDir, "LISTEN_ADDR": "127.0.0.1:0"}[k]
	}, strings.NewReader(""), &strings.Builder{}, &strings.Builder{})
	if err == nil || !strings.Contains(err.Error(), "already using DATA_DIR") {
		t.Fatalf("second start err = %v, want the DATA_DIR lock message", err)
	}

	first.Stop(t)
	if pids := postgresPIDs(t, dataDir); len(pids) > 0 {
		t.Fatalf("postgres still running after stop: %v", pids)
	}

	// Restart: the owner exists, so no new password is printed.
	second := startApp(t, env())
	if second.Password != "" {
		t.Errorf("restart printed a new one-time password: people were not kept")
	}
	second.Stop(t)
	if pids := postgresPIDs(t, dataDir); len(pids) > 0 {
		t.Fatalf("postgres still running after second stop: %v", pids)
	}
}

// postgresPIDs lists live postgres processes whose command line names dir.
func postgresPIDs(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skip("no /proc")
	}
	var pids []string
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		cmd := strings.ReplaceAll(string(b), "\x00", " ")
		if strings.Contains(cmd, "postgres") && strings.Contains(cmd, dir) {
			pids = append(pids, e.Name()+": "+cmd)
		}
	}
	return pids
}

// A real process with the embedded Postgres, stopped by SIGINT (Ctrl-C) or
// killed outright, leaves no postgres process behind.
func TestSignalsLeaveNoPostgres(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			dataDir := mustTempDir(t)
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = []string{"KSHERDASH_RUN_MAIN=1", "PATH=" + os.Getenv("PATH"), "DATA_DIR=" + dataDir, "LISTEN_ADDR=127.0.0.1:0"}
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(out)
			listening := false
			for !listening && sc.Scan() {
				listening = strings.Contains(sc.Text(), "listening on")
			}
			if !listening {
				t.Fatalf("program did not start")
			}
			if len(postgresPIDs(t, dataDir)) == 0 {
				t.Fatalf("no embedded postgres found while running")
			}
			go io.Copy(io.Discard, out)
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			_ = cmd.Wait()
			deadline := time.Now().Add(10 * time.Second)
			for len(postgresPIDs(t, dataDir)) > 0 && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			if pids := postgresPIDs(t, dataDir); len(pids) > 0 {
				t.Errorf("postgres left behind after %s: %v", sig, pids)
			}
		})
	}
}
