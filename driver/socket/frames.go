package socket

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// errOversized is a document above max_document; the reader skips it.
var errOversized = errors.New("document larger than max_document")

// framer cuts a byte stream into documents.
type framer interface {
	// next returns the next document. errOversized means one document was
	// dropped and the stream goes on; a *streamError means the stream
	// cannot be resynchronised (the connection is dropped); other errors
	// come from the connection.
	next() ([]byte, error)
}

// streamError is a stream that cannot be cut into documents any more;
// kind is malformed or oversized. It does not wrap errOversized, so that a
// caller skipping oversized documents never loops on it.
type streamError struct {
	kind string
	err  error
}

func (e *streamError) Error() string { return e.err.Error() }
func (e *streamError) Unwrap() error { return e.err }

func newFramer(r io.Reader, delimiter, format string, max int64) framer {
	br := bufio.NewReaderSize(r, 64<<10)
	switch {
	case delimiter == Newline:
		return &lines{r: br, max: max}
	case format == "yaml":
		return &yamlDocs{lines: lines{r: br, max: max}, max: max}
	}
	lr := &limitReader{r: br, max: max}
	return &jsonDocs{dec: json.NewDecoder(lr), lr: lr}
}

// lines returns one non-empty line at a time; a line above max is skipped.
type lines struct {
	r   *bufio.Reader
	max int64
}

func (l *lines) next() ([]byte, error) {
	for {
		line, err := l.line()
		if err != nil {
			return nil, err
		}
		if t := bytes.TrimSpace(line); len(t) > 0 {
			return t, nil
		}
	}
}

// line reads up to the next newline; beyond max it discards the rest of
// the line and reports errOversized.
func (l *lines) line() ([]byte, error) {
	var buf []byte
	for {
		chunk, err := l.r.ReadSlice('\n')
		if int64(len(buf)+len(chunk)) > l.max {
			if errors.Is(err, bufio.ErrBufferFull) {
				if derr := l.discardLine(); derr != nil {
					return nil, derr
				}
			} else if err != nil {
				return nil, err
			}
			return nil, errOversized
		}
		buf = append(buf, chunk...)
		switch {
		case err == nil:
			return buf, nil
		case !errors.Is(err, bufio.ErrBufferFull):
			return nil, err // an unfinished line at EOF is not a document
		}
	}
}

func (l *lines) discardLine() error {
	for {
		_, err := l.r.ReadSlice('\n')
		if !errors.Is(err, bufio.ErrBufferFull) {
			return err
		}
	}
}

// yamlDocs collects lines up to a "---" or "..." line.
type yamlDocs struct {
	lines lines
	max   int64
	skip  bool // the current document went above max
}

func (y *yamlDocs) next() ([]byte, error) {
	var doc []byte
	for {
		line, err := y.lines.line()
		switch {
		case errors.Is(err, errOversized):
			y.skip, doc = true, nil
			continue
		case err != nil:
			return nil, err
		}
		t := bytes.TrimRight(line, " \r\n")
		if bytes.Equal(t, []byte("---")) || bytes.Equal(t, []byte("...")) {
			if y.skip {
				y.skip = false
				return nil, errOversized
			}
			if len(bytes.TrimSpace(doc)) > 0 {
				return doc, nil
			}
			continue
		}
		if y.skip {
			continue
		}
		if int64(len(doc)+len(line)) > y.max {
			y.skip, doc = true, nil
			continue
		}
		doc = append(doc, line...)
	}
}

// jsonDocs reads concatenated JSON values (pretty-printed or not).
type jsonDocs struct {
	dec *json.Decoder
	lr  *limitReader
}

func (j *jsonDocs) next() ([]byte, error) {
	j.lr.reset()
	var raw json.RawMessage
	err := j.dec.Decode(&raw)
	var se *json.SyntaxError
	switch {
	case errors.Is(err, errOversized):
		return nil, &streamError{"oversized", errors.New("document larger than max_document")}
	case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF):
		return nil, &streamError{"malformed", fmt.Errorf("malformed document: json: %w", err)}
	case err != nil:
		return nil, err
	}
	return raw, nil
}

// limitReader fails once more than max bytes are read since the last reset.
type limitReader struct {
	r   io.Reader
	n   int64
	max int64
}

func (l *limitReader) reset() { l.n = 0 }

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n > l.max {
		return 0, errOversized
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	return n, err
}
