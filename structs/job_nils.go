package structs

import (
	"fmt"
	"reflect"
)

// nilEntries lists every nil element of a slice or map of pointers inside v,
// by field path ("TaskGroups[0].Volumes[\"a\"]"). A JSON body can carry
// `null` anywhere; the rest of roam assumes lists and maps hold real objects,
// so such jobs are refused up front instead of failing deep in a scheduler.
func nilEntries(v reflect.Value, path string, out *[]string) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			nilEntries(v.Elem(), path, out)
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < v.NumField(); i++ {
			if t.Field(i).IsExported() {
				nilEntries(v.Field(i), joinPath(path, t.Field(i).Name), out)
			}
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			nilElem(v.Index(i), fmt.Sprintf("%s[%d]", path, i), out)
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			nilElem(iter.Value(), fmt.Sprintf("%s[%q]", path, fmt.Sprint(iter.Key().Interface())), out)
		}
	}
}

func nilElem(e reflect.Value, path string, out *[]string) {
	if e.Kind() == reflect.Pointer && e.IsNil() {
		*out = append(*out, path)
		return
	}
	// Driver config and other free-form maps (map[string]any) may hold nulls.
	if e.Kind() == reflect.Interface {
		return
	}
	nilEntries(e, path, out)
}

func joinPath(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

// NilEntries reports the paths of null entries in the job's lists and maps.
func (j *Job) NilEntries() []string {
	var out []string
	if j != nil {
		nilEntries(reflect.ValueOf(j), "", &out)
	}
	return out
}
