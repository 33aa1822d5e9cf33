package web

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"

	"github.com/ksherdash/ksherdash/views"
)

// translators holds one translator per supported language, with every
// message that takes no data pre-rendered (no per-request template work).
type translators struct {
	byLang  map[string]*translator
	matcher language.Matcher
	tags    []language.Tag
}

type translator struct {
	lang  string
	loc   *i18n.Localizer
	plain map[string]string
}

func (t *translator) Lang() string { return t.lang }

func (t *translator) T(id string, data map[string]any) string {
	if data == nil {
		if s, ok := t.plain[id]; ok {
			return s
		}
	}
	s, err := t.loc.Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: data})
	if err != nil {
		return id // a missing id shows up as itself; TestCatalogsComplete catches it
	}
	return s
}

// newTranslators loads views.Locales: English first (the fallback), then Thai.
func newTranslators() (*translators, error) {
	bundle := i18n.NewBundle(language.English)
	bundle.RegisterUnmarshalFunc("json", json.Unmarshal)
	files, err := fs.Glob(views.Locales, "locales/*.json")
	if err != nil {
		return nil, err
	}
	ts := &translators{byLang: map[string]*translator{}}
	ts.tags = []language.Tag{language.English}
	for _, f := range files {
		b, err := fs.ReadFile(views.Locales, f)
		if err != nil {
			return nil, err
		}
		if _, err := bundle.ParseMessageFileBytes(b, f); err != nil {
			return nil, fmt.Errorf("i18n: %s: %w", f, err)
		}
		lang := strings.TrimSuffix(path.Base(f), ".json")
		if lang != "en" {
			ts.tags = append(ts.tags, language.Make(lang))
		}
	}
	ts.matcher = language.NewMatcher(ts.tags)
	for _, tag := range ts.tags {
		base, _ := tag.Base()
		loc := i18n.NewLocalizer(bundle, tag.String())
		tr := &translator{lang: base.String(), loc: loc, plain: map[string]string{}}
		var ids map[string]string
		b, err := fs.ReadFile(views.Locales, "locales/"+base.String()+".json")
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(b, &ids); err != nil {
			return nil, err
		}
		for id, text := range ids {
			if !strings.Contains(text, "{{") {
				tr.plain[id] = text
			}
		}
		ts.byLang[tr.lang] = tr
	}
	return ts, nil
}

// For returns the translator for a stored choice, else the best match of the
// Accept-Language header, else English.
func (ts *translators) For(choice, acceptLanguage string) views.Translator {
	if t, ok := ts.byLang[choice]; ok {
		return t
	}
	if acceptLanguage != "" {
		tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
		if err == nil && len(tags) > 0 {
			_, idx, conf := ts.matcher.Match(tags...)
			if conf != language.No {
				base, _ := ts.tags[idx].Base()
				if t, ok := ts.byLang[base.String()]; ok {
					return t
				}
			}
		}
	}
	return ts.byLang["en"]
}
