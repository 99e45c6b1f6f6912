// Package docscheck keeps the repository's docs and comments honest: they
// cite only files inside the repository, and relative links in the
// markdown docs point to files that exist.
package docscheck

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// outside lists citations of documents that live outside the repository.
// The strings are split so that this file does not match itself.
var outside = []string{
	"SPEC " + "§",
	"shared" + "/reference",
	".." + "/shared",
}

// root returns the repository root: the nearest directory above the test's
// working directory that holds go.mod.
func root(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

// files returns the repository files (relative to root, slash-separated)
// whose names end in one of exts, outside third_party/, node_modules/ (npm
// test peers) and hidden directories.
func files(t *testing.T, root string, exts ...string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == "third_party" || d.Name() == "node_modules" || (rel != "." && strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		for _, e := range exts {
			if strings.HasSuffix(rel, e) {
				out = append(out, rel)
				break
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestNoOutsideCitations: no Go, markdown, YAML or JSON file cites the
// specification or reference documents kept outside the repository; the
// facts belong in docs/ and the citation points there.
func TestNoOutsideCitations(t *testing.T) {
	r := root(t)
	for _, f := range files(t, r, ".go", ".md", ".yaml", ".yml", ".json") {
		data, err := os.ReadFile(filepath.Join(r, f))
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			for _, s := range outside {
				if strings.Contains(line, s) {
					t.Errorf("%s:%d: cites %q, a document outside the repository; move the fact to docs/ and cite that", f, i+1, s)
				}
			}
		}
	}
}

var (
	// inlineLink matches [text](target) and ![alt](target "title").
	inlineLink = regexp.MustCompile(`\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)`)
	// refLink matches a reference definition: [label]: target.
	refLink = regexp.MustCompile(`(?m)^ {0,3}\[[^\]]+\]:\s+<?([^\s>]+)>?`)
	// codeSpan matches inline code, whose brackets are not links.
	codeSpan = regexp.MustCompile("`+[^`]*`+")
	// scheme matches an absolute URL (https:, mailto:, ...).
	scheme = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`)
)

// links returns the link targets of a markdown text with their line
// numbers, ignoring fenced code blocks and inline code.
func links(text string) (targets []string, lines []int) {
	fence := ""
	for i, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) {
				fence = ""
			}
			continue
		}
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			fence = trimmed[:3]
			continue
		}
		line = codeSpan.ReplaceAllString(line, "")
		for _, re := range []*regexp.Regexp{inlineLink, refLink} {
			for _, m := range re.FindAllStringSubmatch(line, -1) {
				targets = append(targets, m[1])
				lines = append(lines, i+1)
			}
		}
	}
	return targets, lines
}

// TestRelativeLinksExist: every relative link in README.md and docs/*.md
// (and in the other markdown files of the repository) names a file or
// directory inside the repository that exists.
func TestRelativeLinksExist(t *testing.T) {
	r := root(t)
	docs := files(t, r, ".md")
	if len(docs) == 0 {
		t.Fatal("no markdown files found")
	}
	checked := 0
	for _, f := range docs {
		data, err := os.ReadFile(filepath.Join(r, f))
		if err != nil {
			t.Fatal(err)
		}
		targets, lines := links(string(data))
		for k, target := range targets {
			if scheme.MatchString(target) || strings.HasPrefix(target, "#") || strings.HasPrefix(target, "//") {
				continue
			}
			path := target
			if i := strings.IndexAny(path, "#?"); i >= 0 {
				path = path[:i]
			}
			var abs string
			if strings.HasPrefix(path, "/") {
				abs = filepath.Join(r, filepath.FromSlash(path))
			} else {
				abs = filepath.Join(r, filepath.Dir(filepath.FromSlash(f)), filepath.FromSlash(path))
			}
			checked++
			rel, err := filepath.Rel(r, abs)
			if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				t.Errorf("%s:%d: link %q points outside the repository", f, lines[k], target)
				continue
			}
			if _, err := os.Stat(abs); err != nil {
				t.Errorf("%s:%d: link %q: no such file %s", f, lines[k], target, filepath.ToSlash(rel))
			}
		}
	}
	if checked == 0 {
		t.Error("no relative links found; is the link pattern broken?")
	}
}

// TestReadmeAndDocsAreChecked: the link check covers README.md and every
// page in docs/, as the docs promise.
func TestReadmeAndDocsAreChecked(t *testing.T) {
	r := root(t)
	seen := map[string]bool{}
	for _, f := range files(t, r, ".md") {
		seen[f] = true
	}
	pages, err := filepath.Glob(filepath.Join(r, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"README.md"}
	for _, p := range pages {
		rel, _ := filepath.Rel(r, p)
		want = append(want, filepath.ToSlash(rel))
	}
	if len(want) < 2 {
		t.Fatal("no docs/*.md pages found")
	}
	for _, w := range want {
		if !seen[w] {
			t.Errorf("%s is not covered by the checks", w)
		}
	}
}
