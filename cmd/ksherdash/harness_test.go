package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/playwright-community/playwright-go"

	"github.com/ksherdash/ksherdash/models/pgtest"
)

func TestMain(m *testing.M) {
	// The exit-code tests re-run this test binary as the real program.
	if os.Getenv("KSHERDASH_RUN_MAIN") == "1" {
		os.Args = append([]string{"ksherdash"}, strings.Fields(os.Getenv("KSHERDASH_ARGS"))...)
		main()
		os.Exit(0)
	}
	code := func() int {
		defer stopPlaywright()
		pgtest.Main(m) // exits
		return 0
	}()
	os.Exit(code)
}

// syncBuffer is an io.Writer safe for concurrent use, for captured logs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// runningApp is the real program started through run() on a free port.
type runningApp struct {
	URL      string
	Password string // the one-time password printed on first start, if any
	Stdout   *syncBuffer
	Stderr   *syncBuffer
	cancel   context.CancelFunc
	done     chan error
}

var (
	listenRe   = regexp.MustCompile(`listening on (http://\S+)`)
	passwordRe = regexp.MustCompile(`one-time password (\S+)`)
)

// startApp runs the program with env (plus LISTEN_ADDR=127.0.0.1:0 and a
// private DATA_DIR unless given) and waits until it listens. It is stopped at
// the end of the test.
func startApp(tb testing.TB, env map[string]string) *runningApp {
	tb.Helper()
	if env["LISTEN_ADDR"] == "" {
		env["LISTEN_ADDR"] = "127.0.0.1:0"
	}
	if env["DATA_DIR"] == "" {
		env["DATA_DIR"] = mustTempDir(tb)
	}
	if _, ok := env["LOG_LEVEL"]; !ok {
		env["LOG_LEVEL"] = "debug"
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	a := &runningApp{Stdout: &syncBuffer{}, Stderr: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	go func() {
		err := run(ctx, nil, func(k string) string { return env[k] }, strings.NewReader(""), io.MultiWriter(pw, a.Stdout), a.Stderr)
		pw.CloseWithError(io.EOF)
		a.done <- err
	}()
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, pr)
	}()
	deadline := time.After(30 * time.Second)
	for a.URL == "" {
		select {
		case line, ok := <-lines:
			if !ok {
				tb.Fatalf("program exited before listening: %v\nstderr:\n%s", <-a.done, a.Stderr.String())
			}
			if m := listenRe.FindStringSubmatch(line); m != nil {
				a.URL = m[1]
			}
		case <-deadline:
			cancel()
			tb.Fatalf("program did not listen within 30 s\nstderr:\n%s", a.Stderr.String())
		}
	}
	// The password line, when there is one, follows the listening line at once.
	select {
	case line := <-lines:
		if m := passwordRe.FindStringSubmatch(line); m != nil {
			a.Password = m[1]
		}
	case <-time.After(300 * time.Millisecond):
	}
	go func() {
		for range lines {
		}
	}()
	tb.Cleanup(func() { a.Stop(tb) })
	return a
}

// Stop cancels the program (like SIGINT) and waits for it to end.
func (a *runningApp) Stop(tb testing.TB) {
	tb.Helper()
	if a.cancel == nil {
		return
	}
	a.cancel()
	a.cancel = nil
	select {
	case err := <-a.done:
		if err != nil {
			tb.Errorf("program ended with %v", err)
		}
	case <-time.After(20 * time.Second):
		tb.Errorf("program did not stop within 20 s")
	}
}

func mustTempDir(tb testing.TB) string {
	tb.Helper()
	// Under /tmp: the embedded Postgres runs as the postgres user when we are
	// root, and it must be able to reach the directory.
	dir, err := os.MkdirTemp("/tmp", "ksd-test-")
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// Playwright: one driver per test binary, one browser context per test.
var (
	pwOnce    sync.Once
	pwInst    *playwright.Playwright
	pwBrowser playwright.Browser
	pwErr     error
)

func stopPlaywright() {
	if pwBrowser != nil {
		_ = pwBrowser.Close()
	}
	if pwInst != nil {
		_ = pwInst.Stop()
	}
}

// newPage returns a fresh browser page (own cookies) for the test, or skips
// the test when no browser is installed, unless E2E_REQUIRED=1 (make test
// and CI), which turns that into a failure.
func newPage(tb testing.TB) playwright.Page {
	tb.Helper()
	return newPageLocale(tb, "en-US")
}

// newPageLocale is newPage with the browser's language (Accept-Language).
func newPageLocale(tb testing.TB, locale string) playwright.Page {
	tb.Helper()
	pwOnce.Do(func() {
		driverDir := os.Getenv("PLAYWRIGHT_DRIVER_PATH")
		if driverDir == "" {
			home, _ := os.UserHomeDir()
			driverDir = filepath.Join(home, ".cache", "ms-playwright-go", "1.52.0")
		}
		chromium := os.Getenv("CHROMIUM_PATH")
		if chromium == "" {
			chromium = "/usr/lib/chromium/chromium"
		}
		if _, err := os.Stat(chromium); err != nil {
			pwErr = fmt.Errorf("no Chromium at %s (run .ci/setup.sh)", chromium)
			return
		}
		pwInst, pwErr = playwright.Run(&playwright.RunOptions{DriverDirectory: driverDir, SkipInstallBrowsers: true, Verbose: false})
		if pwErr != nil {
			pwErr = fmt.Errorf("playwright driver: %w (run .ci/setup.sh)", pwErr)
			return
		}
		pwBrowser, pwErr = pwInst.Chromium.Launch(playwright.BrowserTypeLaunchOptions{
			ExecutablePath: playwright.String(chromium),
			Headless:       playwright.Bool(true),
			Args:           []string{"--disable-gpu", "--disable-quic", "--disable-sync"},
		})
	})
	if pwErr != nil {
		if os.Getenv("E2E_REQUIRED") == "1" {
			tb.Fatalf("browser tests required: %v", pwErr)
		}
		tb.Skipf("browser tests skipped: %v", pwErr)
	}
	bctx, err := pwBrowser.NewContext(playwright.BrowserNewContextOptions{Locale: playwright.String(locale)})
	if err != nil {
		tb.Fatal(err)
	}
	page, err := bctx.NewPage()
	if err != nil {
		tb.Fatal(err)
	}
	page.SetDefaultTimeout(10000)
	tb.Cleanup(func() {
		if tb.Failed() {
			saveScreenshot(tb, page)
		}
		_ = bctx.Close()
	})
	return page
}

func saveScreenshot(tb testing.TB, page playwright.Page) {
	dir := os.Getenv("E2E_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "ksherdash-e2e")
	}
	_ = os.MkdirAll(dir, 0o755)
	name := filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(tb.Name())+".png")
	if _, err := page.Screenshot(playwright.PageScreenshotOptions{Path: playwright.String(name), FullPage: playwright.Bool(true)}); err == nil {
		tb.Logf("screenshot: %s", name)
	}
}

// expectVisible fails unless the locator becomes visible.
func expectVisible(tb testing.TB, l playwright.Locator) {
	tb.Helper()
	if err := playwright.NewPlaywrightAssertions(5000).Locator(l).ToBeVisible(); err != nil {
		tb.Fatalf("not visible: %v", err)
	}
}

// expectURL waits for the page URL to match re.
func expectURL(tb testing.TB, page playwright.Page, re string) {
	tb.Helper()
	if err := playwright.NewPlaywrightAssertions(5000).Page(page).ToHaveURL(regexp.MustCompile(re)); err != nil {
		tb.Fatalf("url = %s, want match %s: %v", page.URL(), re, err)
	}
}
