package httpdrv

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// Write sends the datapoint's configured write request with the value,
// then polls the device again and returns the value it reports (read-back);
// when the datapoint cannot be read back the written value is returned.
func (d *Device) Write(ctx context.Context, name string, value any) (any, error) {
	f, ok := d.byName[name]
	if !ok || f.Write == nil {
		return nil, fmt.Errorf("http %s: %s is not writable", d.id, name)
	}
	data := tmplData{Unit: f.unit, Value: formatValue(value)}
	path, err := render(f.writePath, data)
	if err != nil {
		return nil, fmt.Errorf("http %s: %s: write path: %w", d.id, name, err)
	}
	body, err := render(f.writeBody, data)
	if err != nil {
		return nil, fmt.Errorf("http %s: %s: write body: %w", d.id, name, err)
	}
	method := f.Write.Method
	if method == "" {
		method = http.MethodPost
	}
	headers := make(map[string]string, len(d.t.headers)+len(f.Write.Headers))
	for k, v := range d.t.headers {
		headers[k] = v
	}
	for k, v := range f.Write.Headers {
		headers[k] = v
	}
	d.reqMu.Lock()
	d.m.request()
	_, err = exchange(ctx, d.client, method, d.resolve(path), headers, d.t.auth, body, d.t.maxBody)
	d.reqMu.Unlock()
	if err != nil {
		d.m.error(errKind(err))
		return nil, fmt.Errorf("http %s: write %s: %w", d.id, name, err)
	}
	d.log.Info("http write", "datapoint", name, "value", value)
	return d.readBack(ctx, f, value), nil
}

// resolve makes a write path absolute against the device's base URL.
func (d *Device) resolve(path string) string {
	if strings.HasPrefix(path, "http://") || strings.HasPrefix(path, "https://") {
		return path
	}
	return d.t.base + "/" + strings.TrimPrefix(path, "/")
}

// readBack polls the device once and returns f's value from it, or the
// written value when the poll did not give one.
func (d *Device) readBack(ctx context.Context, f *field, written any) any {
	if f.Path == "" {
		return written
	}
	d.mu.Lock()
	sink := d.sink
	d.mu.Unlock()
	if sink == nil {
		return written
	}
	for _, v := range d.poll(ctx, sink) {
		if v.Name == f.name && v.Value != nil {
			return v.Value
		}
	}
	d.log.Warn("http write: no read-back value", "datapoint", f.name)
	return written
}
