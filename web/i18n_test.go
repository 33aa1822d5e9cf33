package web

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

// Every message id used in views, handlers and web exists in every catalog,
// and the catalogs have the same ids.
func TestCatalogsComplete(t *testing.T) {
	catalogs := map[string]map[string]string{}
	files, _ := fs.Glob(views.Locales, "locales/*/*.json")
	for _, f := range files {
		b, _ := fs.ReadFile(views.Locales, f)
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		lang := filepath.Base(filepath.Dir(f))
		if catalogs[lang] == nil {
			catalogs[lang] = map[string]string{}
		}
		for id, text := range m {
			if _, dup := catalogs[lang][id]; dup {
				t.Errorf("%s: id %q defined twice", lang, id)
			}
			catalogs[lang][id] = text
		}
	}
	if len(catalogs) < 2 {
		t.Fatalf("catalogs = %d, want en and th", len(catalogs))
	}
	used := map[string]bool{}
	// Also the message ids of models: problems (Problem{ID: ...},
	// Problems{"field": {ID: ...}}, Problems.Add) and errors (MsgID).
	idRe := regexp.MustCompile(`\bTf?\((?:ctx|c), "([a-z0-9_.]+)"|msgID(?:, message)? = (?:fiber\.Status\w+, )?"([a-z0-9_.]+)"|"(error\.[a-z_]+)"` +
		`|(?:Problem|": )\{ID: "([a-z0-9_.]+)"|\.Add\("[a-z_]+", "([a-z0-9_.]+)"`)
	for _, pattern := range []string{"../views/*.templ", "../handlers/*.go", "*.go", "../models/*.go"} {
		paths, _ := filepath.Glob(pattern)
		for _, p := range paths {
			if strings.HasPrefix(p, "../models/") && strings.HasSuffix(p, "_test.go") {
				continue // made-up ids
			}
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range idRe.FindAllStringSubmatch(string(b), -1) {
				for _, id := range m[1:] {
					if strings.HasSuffix(id, ".") {
						continue // a prefix completed at run time, checked below
					}
					if id != "" {
						used[id] = true
					}
				}
			}
		}
	}
	for _, r := range models.Roles {
		used["role."+r] = true
	}
	if len(used) < 20 {
		t.Fatalf("found only %d message ids in use; the scanner is broken", len(used))
	}
	for name, cat := range catalogs {
		for id := range used {
			if _, ok := cat[id]; !ok {
				t.Errorf("%s lacks %q", name, id)
			}
		}
		for other, oc := range catalogs {
			var missing []string
			for id := range oc {
				if _, ok := cat[id]; !ok {
					missing = append(missing, id)
				}
			}
			sort.Strings(missing)
			if len(missing) > 0 {
				t.Errorf("%s lacks ids that %s has: %v", name, other, missing)
			}
		}
	}
}

func TestTranslatorsChooseLanguage(t *testing.T) {
	ts, err := newTranslators()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ choice, accept, want string }{
		{"", "th-TH,th;q=0.9,en;q=0.8", "th"},
		{"", "en-US,en;q=0.9", "en"},
		{"", "fr-FR", "en"},
		{"en", "th-TH", "en"},
		{"th", "", "th"},
	}
	for _, tt := range tests {
		if got := ts.For(tt.choice, tt.accept).Lang(); got != tt.want {
			t.Errorf("For(%q, %q) = %s, want %s", tt.choice, tt.accept, got, tt.want)
		}
	}
	if got := ts.For("th", "").T("dashboard.welcome", map[string]any{"Name": "Somchai"}); got != "ยินดีต้อนรับ Somchai" {
		t.Errorf("templated Thai = %q", got)
	}
}
