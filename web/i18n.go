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

// newTranslators loads views.Locales: English (the fallback) and every
// other language folder.
func newTranslators() (*translators, error) {
	bundle := i18n.NewBundle(language.English)
	bundle.RegisterUnmarshalFunc("json", json.Unmarshal)
	files, err := fs.Glob(views.Locales, "locales/*/*.json")
	if err != nil {
		return nil, err
	}
	ts := &translators{byLang: map[string]*translator{}}
	ts.tags = []language.Tag{language.English}
	plain := map[string]map[string]string{}
	for _, f := range files {
		b, err := fs.ReadFile(views.Locales, f)
		if err != nil {
			return nil, err
		}
		lang := path.Base(path.Dir(f))
		// go-i18n takes the language from the file name: name it after the folder.
		if _, err := bundle.ParseMessageFileBytes(b, lang+".json"); err != nil {
			return nil, fmt.Errorf("i18n: %s: %w", f, err)
		}
		var ids map[string]string
		if err := json.Unmarshal(b, &ids); err != nil {
			return nil, fmt.Errorf("i18n: %s: %w", f, err)
		}
		if plain[lang] == nil {
			plain[lang] = map[string]string{}
			if lang != "en" {
				ts.tags = append(ts.tags, language.Make(lang))
			}
		}
		for id, text := range ids {
			if !strings.Contains(text, "{{") {
				plain[lang][id] = text
			}
		}
	}
	ts.matcher = language.NewMatcher(ts.tags)
	for _, tag := range ts.tags {
		base, _ := tag.Base()
		ts.byLang[base.String()] = &translator{lang: base.String(), loc: i18n.NewLocalizer(bundle, tag.String()), plain: plain[base.String()]}
	}
	return ts, nil
}

// English words catalog message id with data in English, for the command
// line (models name problems by message id; the catalogs word them).
func English(id string, data map[string]any) string {
	ts, err := newTranslators()
	if err != nil {
		return id
	}
	return ts.byLang["en"].T(id, data)
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
