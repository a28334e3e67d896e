package drivers

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"
)

// DecodeConfig decodes a task's generic driver config (as the job parser, the
// JSON API or the state store hand it over: strings, bools, int64/uint64/
// float64 numbers, []any and map[string]any, blocks as lists of maps) into out,
// a pointer to the driver's own struct.
//
// Struct fields are matched by their `config:"name"` tag; fields without one
// are ignored. `config:"name,required"` makes a key mandatory. Unknown keys,
// missing required keys and values of the wrong type are all reported, each
// with the key's path, in one joined error.
func DecodeConfig(raw map[string]any, out any) error {
	rv := reflect.ValueOf(out)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("decode config: want pointer to struct, got %T", out)
	}
	var errs []error
	decodeStruct("", raw, rv.Elem(), &errs)
	return errors.Join(errs...)
}

type configField struct {
	name     string
	required bool
	index    []int
}

// configFields lists t's tagged fields. The fields of an embedded struct
// without a tag count as t's own, so drivers can share option blocks (exec
// and java share their isolation options).
func configFields(t reflect.Type) []configField {
	var out []configField
	for i := range t.NumField() {
		f := t.Field(i)
		tag, ok := f.Tag.Lookup("config")
		if !ok && f.Anonymous && f.Type.Kind() == reflect.Struct {
			for _, inner := range configFields(f.Type) {
				inner.index = append([]int{i}, inner.index...)
				out = append(out, inner)
			}
			continue
		}
		if !ok || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		out = append(out, configField{name: name, required: opts == "required", index: []int{i}})
	}
	return out
}

func decodeStruct(path string, raw map[string]any, dst reflect.Value, errs *[]error) {
	fields := configFields(dst.Type())
	known := make([]string, 0, len(fields))
	for _, f := range fields {
		known = append(known, f.name)
		v, ok := raw[f.name]
		if !ok || v == nil {
			if f.required {
				*errs = append(*errs, fmt.Errorf("%s: missing required key", join(path, f.name)))
			}
			continue
		}
		decodeValue(join(path, f.name), v, dst.FieldByIndex(f.index), errs)
	}
	for k := range raw {
		if !slices.Contains(known, k) {
			slices.Sort(known)
			*errs = append(*errs, fmt.Errorf("%s: unknown key (valid keys: %s)", join(path, k), strings.Join(known, ", ")))
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

var durationType = reflect.TypeOf(time.Duration(0))

func decodeValue(path string, v any, dst reflect.Value, errs *[]error) {
	fail := func(want string) {
		*errs = append(*errs, fmt.Errorf("%s: want %s, got %s", path, want, describe(v)))
	}
	if dst.Type() == durationType {
		decodeDuration(path, v, dst, errs)
		return
	}
	switch dst.Kind() {
	case reflect.String:
		s, ok := v.(string)
		if !ok {
			fail("string")
			return
		}
		dst.SetString(s)
	case reflect.Bool:
		b, ok := v.(bool)
		if !ok {
			fail("bool")
			return
		}
		dst.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := asInt(v)
		if !ok || dst.OverflowInt(n) {
			fail("integer")
			return
		}
		dst.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, ok := asInt(v)
		if !ok || n < 0 || dst.OverflowUint(uint64(n)) {
			fail("non-negative integer")
			return
		}
		dst.SetUint(uint64(n))
	case reflect.Float32, reflect.Float64:
		f, ok := asFloat(v)
		if !ok {
			fail("number")
			return
		}
		dst.SetFloat(f)
	case reflect.Slice:
		decodeSlice(path, v, dst, errs)
	case reflect.Map:
		decodeMap(path, v, dst, errs)
	case reflect.Struct:
		m, ok := asObject(v)
		if !ok {
			fail("block")
			return
		}
		decodeStruct(path, m, dst, errs)
	case reflect.Pointer:
		p := reflect.New(dst.Type().Elem())
		decodeValue(path, v, p.Elem(), errs)
		dst.Set(p)
	default:
		*errs = append(*errs, fmt.Errorf("%s: unsupported field type %s", path, dst.Type()))
	}
}

func decodeDuration(path string, v any, dst reflect.Value, errs *[]error) {
	switch t := v.(type) {
	case string:
		d, err := time.ParseDuration(t)
		if err != nil {
			*errs = append(*errs, fmt.Errorf("%s: %w", path, err))
			return
		}
		dst.SetInt(int64(d))
	default:
		n, ok := asInt(v)
		if !ok {
			*errs = append(*errs, fmt.Errorf("%s: want duration (\"5s\"), got %s", path, describe(v)))
			return
		}
		dst.SetInt(n)
	}
}

func decodeSlice(path string, v any, dst reflect.Value, errs *[]error) {
	items, ok := asList(v)
	if !ok {
		*errs = append(*errs, fmt.Errorf("%s: want list, got %s", path, describe(v)))
		return
	}
	out := reflect.MakeSlice(dst.Type(), len(items), len(items))
	for i, item := range items {
		decodeValue(fmt.Sprintf("%s[%d]", path, i), item, out.Index(i), errs)
	}
	dst.Set(out)
}

func decodeMap(path string, v any, dst reflect.Value, errs *[]error) {
	if dst.Type().Key().Kind() != reflect.String {
		*errs = append(*errs, fmt.Errorf("%s: unsupported map key type %s", path, dst.Type().Key()))
		return
	}
	m, ok := asObject(v)
	if !ok {
		*errs = append(*errs, fmt.Errorf("%s: want map, got %s", path, describe(v)))
		return
	}
	out := reflect.MakeMapWithSize(dst.Type(), len(m))
	for k, e := range m {
		ev := reflect.New(dst.Type().Elem()).Elem()
		decodeValue(join(path, k), e, ev, errs)
		out.SetMapIndex(reflect.ValueOf(k).Convert(dst.Type().Key()), ev)
	}
	dst.Set(out)
}

func asInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int8:
		return int64(n), true
	case int16:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case uint:
		return int64(n), n <= math.MaxInt64
	case uint8:
		return int64(n), true
	case uint16:
		return int64(n), true
	case uint32:
		return int64(n), true
	case uint64:
		return int64(n), n <= math.MaxInt64
	case float32:
		return int64(n), float32(int64(n)) == n
	case float64:
		return int64(n), float64(int64(n)) == n
	}
	return 0, false
}

func asFloat(v any) (float64, bool) {
	if f, ok := v.(float64); ok {
		return f, true
	}
	if f, ok := v.(float32); ok {
		return float64(f), true
	}
	n, ok := asInt(v)
	return float64(n), ok
}

// asList accepts []any and the typed slices Go callers build by hand.
func asList(v any) ([]any, bool) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice {
		return nil, false
	}
	out := make([]any, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).Interface()
	}
	return out, true
}

// asObject accepts a map, or a block: a list holding exactly one map.
func asObject(v any) (map[string]any, bool) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return nil, false
		}
		out := make(map[string]any, rv.Len())
		for it := rv.MapRange(); it.Next(); {
			out[it.Key().String()] = it.Value().Interface()
		}
		return out, true
	case reflect.Slice:
		if rv.Len() == 1 {
			return asObject(rv.Index(0).Interface())
		}
	}
	return nil, false
}

func describe(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case bool:
		return "bool"
	case map[string]any:
		return "map"
	}
	if _, ok := asInt(v); ok {
		return "number"
	}
	if _, ok := asFloat(v); ok {
		return "number"
	}
	if _, ok := asList(v); ok {
		return "list"
	}
	return fmt.Sprintf("%T", v)
}
