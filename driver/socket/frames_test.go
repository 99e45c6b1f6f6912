package socket

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// frames reads every document of a stream; errors show as "!<error>".
func frames(delimiter, format, stream string, max int64) []string {
	fr := newFramer(strings.NewReader(stream), delimiter, format, max)
	var out []string
	for {
		doc, err := fr.next()
		var se *streamError
		switch {
		case errors.Is(err, io.EOF):
			return out
		case errors.As(err, &se):
			return append(out, "!"+se.kind)
		case errors.Is(err, errOversized):
			out = append(out, "!oversized")
			continue
		case err != nil:
			return append(out, "!"+err.Error())
		}
		out = append(out, string(doc))
	}
}

func TestFramers(t *testing.T) {
	tests := []struct {
		name, delimiter, format, stream string
		max                             int64
		want                            string
	}{
		{"lines", Newline, "json", "{\"a\":1}\n\n  \n{\"a\":2}\r\n{\"a\":", 100, `{"a":1}|{"a":2}`},
		{"long line skipped", Newline, "json", "{\"a\":1}\n" + strings.Repeat("x", 200) + "\n{\"a\":3}\n", 50, `{"a":1}|!oversized|{"a":3}`},
		{"long line beyond the buffer", Newline, "json", strings.Repeat("y", 200000) + "\n{\"a\":4}\n", 1000, `!oversized|{"a":4}`},
		{"yaml documents", Document, "yaml", "a: 1\n---\n---\nb: 2\n...\nc: 3\n", 100, "a: 1\n|b: 2\n"},
		{"big yaml document skipped", Document, "yaml", "a: 1\n---\n" + strings.Repeat("b: 2\n", 50) + "---\nc: 3\n---\n", 60, "a: 1\n|!oversized|c: 3\n"},
		{"json values", Document, "json", "{\"a\":\n 1}\n{\"b\":2} [3]", 100, `{"a":
 1}|{"b":2}|[3]`},
		{"json syntax error", Document, "json", "{\"a\":1} {\"b\":]", 100, `{"a":1}|!malformed`},
		{"json too big", Document, "json", "{\"a\":\"" + strings.Repeat("z", 100000) + "\"}", 1000, `!oversized`},
	}
	for _, tc := range tests {
		if got := strings.Join(frames(tc.delimiter, tc.format, tc.stream, tc.max), "|"); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func FuzzFramers(f *testing.F) {
	f.Add("{\"a\":1}\n---\nb: [1\n...\n")
	f.Fuzz(func(t *testing.T, s string) {
		for _, d := range []string{Newline, Document} {
			for _, format := range []string{"json", "yaml"} {
				for _, doc := range frames(d, format, s, 64) {
					if len(doc) > 64 && !strings.HasPrefix(doc, "!") && d == Newline {
						t.Fatalf("%s %s: document of %d bytes above max 64", d, format, len(doc))
					}
				}
			}
		}
	})
}
