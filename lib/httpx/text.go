package httpx

import (
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"hospital/lib/apperr"
)

// msgNUL is the answer to a string holding U+0000: valid JSON, but
// PostgreSQL (FerretDB's backend) refuses it, BSON regexes cannot hold it,
// and no clinical or billing text needs it.
const msgNUL = "Must not contain the NUL character (U+0000)."

// TextQuery reads ?name= as free text of at most maxLen characters ("" when
// absent). Text that is not UTF-8 or holds U+0000 is a 400 naming the
// parameter: it would reach a store or a regex as it is.
func TextQuery(r *http.Request, name string, maxLen int) (string, error) {
	v := r.URL.Query().Get(name)
	switch {
	case !utf8.ValidString(v):
		return "", apperr.Field(name, "Must be UTF-8 text.")
	case strings.ContainsRune(v, 0):
		return "", apperr.Field(name, msgNUL)
	case utf8.RuneCountInString(v) > maxLen:
		return "", apperr.Field(name, fmt.Sprintf("Ensure this value has at most %d characters.", maxLen))
	}
	return v, nil
}

// checkText refuses a decoded body with U+0000 in any string (encoding/json
// has already replaced invalid UTF-8), naming the field as the client wrote
// it: "items[1].notes".
func checkText(v any) error {
	if path, ok := nulAt(reflect.ValueOf(v), ""); ok {
		if path == "" {
			path = "non_field_errors"
		}
		return apperr.Field(path, msgNUL)
	}
	return nil
}

func nulAt(v reflect.Value, path string) (string, bool) {
	switch v.Kind() {
	case reflect.String:
		return path, strings.ContainsRune(v.String(), 0)
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return "", false
		}
		return nulAt(v.Elem(), path)
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			switch {
			case name == "-":
				continue
			case f.Anonymous && name == "":
				if p, ok := nulAt(v.Field(i), path); ok {
					return p, true
				}
				continue
			case name == "":
				name = f.Name
			}
			if p, ok := nulAt(v.Field(i), join(path, name)); ok {
				return p, true
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return "", false // raw JSON or bytes: not text
		}
		for i := range v.Len() {
			if p, ok := nulAt(v.Index(i), path+"["+strconv.Itoa(i)+"]"); ok {
				return p, true
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			key := fmt.Sprint(it.Key().Interface())
			if strings.ContainsRune(key, 0) {
				return path, true
			}
			if p, ok := nulAt(it.Value(), join(path, key)); ok {
				return p, true
			}
		}
	}
	return "", false
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}
