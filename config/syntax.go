package config

import (
	"regexp"
	"strconv"

	"gopkg.in/yaml.v3"
)

// yamlErrRE splits a yaml.v3 syntax error into its line (if any) and message.
var yamlErrRE = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// syntaxError turns a YAML syntax error of data into a FieldError with the
// line of the problem and no key path ("not valid YAML: ...").
//
// yaml.v3 names a line in its message, but for errors of its parser (unlike
// its scanner) that line is the 0-based line where the enclosing block or
// flow collection starts, so "site: a\n- x" is reported at line 1. The line
// is therefore found from prefixes of data, whole lines: the shortest prefix
// that fails with the very same error ends at the line of the problem (for
// an unclosed bracket or quote, the line where the value that is never
// closed begins). yaml.v3 leaves out a context on line 1, so a quote or
// bracket opened on line 1 and never closed is reported where yaml.v3
// noticed it, at the end of the file.
func syntaxError(data []byte, err error) FieldError {
	msg, line := err.Error(), 0
	if m := yamlErrRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1]) // 0 when the message has no line
		msg = m[2]
	}
	if n := problemLine(data, err.Error(), line); n > 0 {
		line = n
	}
	return FieldError{Line: line, Msg: "not valid YAML: " + msg}
}

// problemLine returns the number of lines of the shortest prefix of data, at
// least from lines long, whose parse fails with the error text want (which
// the whole of data does). A prefix that ends after the problem fails the
// same way, one that ends before it parses or fails differently, so a binary
// search needs only a few parses even of a long file.
func problemLine(data []byte, want string, from int) int {
	var ends []int // ends[n-1]: byte length of the prefix of n lines
	for i, b := range data {
		if b == '\n' {
			ends = append(ends, i+1)
		}
	}
	if len(ends) == 0 || ends[len(ends)-1] != len(data) {
		ends = append(ends, len(data)) // a last line without newline
	}
	fails := func(n int) bool {
		var doc yaml.Node
		err := yaml.Unmarshal(data[:ends[n-1]], &doc)
		return err != nil && err.Error() == want
	}
	lo, hi := max(from, 1), len(ends)
	if lo > hi || !fails(hi) {
		return 0
	}
	for lo < hi { // fails(hi) holds
		if mid := (lo + hi) / 2; fails(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return hi
}
