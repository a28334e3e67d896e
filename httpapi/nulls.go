package httpapi

import (
	"fmt"
	"reflect"
	"sort"
)

// checkNoNulls rejects JSON nulls standing in for objects inside lists and
// maps ("TaskGroups": [null], "Volumes": {"data": null}). They decode to nil
// pointers that no part of a job may contain, and code past the HTTP edge
// (validation, the schedulers) is entitled to assume they are not there.
// Values of driver configuration (interface-typed) are left alone: null is
// legitimate data there.
func checkNoNulls(name string, v any) error {
	if path := findNull(name, reflect.ValueOf(v)); path != "" {
		return badRequest("invalid request body: %s is null", path)
	}
	return nil
}

// findNull returns the path of the first nil pointer element, or "".
func findNull(path string, v reflect.Value) string {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return ""
		}
		return findNull(path, v.Elem())
	case reflect.Struct:
		return structNull(path, v)
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			if p := elemNull(fmt.Sprintf("%s[%d]", path, i), v.Index(i)); p != "" {
				return p
			}
		}
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
		for _, k := range keys {
			if p := elemNull(fmt.Sprintf("%s[%q]", path, fmt.Sprint(k)), v.MapIndex(k)); p != "" {
				return p
			}
		}
	}
	return ""
}

func structNull(path string, v reflect.Value) string {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		if f := t.Field(i); f.IsExported() {
			if p := findNull(path+"."+f.Name, v.Field(i)); p != "" {
				return p
			}
		}
	}
	return ""
}

// elemNull reports a nil pointer element of a list or map, else looks
// inside it.
func elemNull(path string, e reflect.Value) string {
	if e.Kind() == reflect.Pointer && e.IsNil() {
		return path
	}
	return findNull(path, e)
}
