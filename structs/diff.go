package structs

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Keys of TaskGroupDiff.Updates: what a plan does to a group's allocations,
// as `job plan` prints them ("1 create, 2 ignore").
const (
	UpdateTypeIgnore            = "ignore"
	UpdateTypeCreate            = "create"
	UpdateTypeDestroy           = "destroy"
	UpdateTypeMigrate           = "migrate"
	UpdateTypeCanary            = "canary"
	UpdateTypeInplaceUpdate     = "in-place update"
	UpdateTypeDestructiveUpdate = "create/destroy update"
)

// jobDiffSkip lists job fields the servers maintain or that are diffed
// separately; they never show in a diff.
func jobDiffSkip() map[string]bool {
	return map[string]bool{
		"ID": true, "Status": true, "StatusDescription": true, "Stable": true, "Version": true,
		"SubmitTime": true, "CreateIndex": true, "ModifyIndex": true, "JobModifyIndex": true, "TaskGroups": true,
	}
}

// DiffJobs describes how new differs from old; either may be nil (a job
// being added or removed). Only what changed is listed: primitive fields as
// FieldDiffs ("Priority"; map entries as "Meta[key]"), nested blocks as
// ObjectDiffs, task groups and tasks matched by name.
func DiffJobs(old, new *Job) *JobDiff {
	d := &JobDiff{Type: DiffTypeNone}
	if old == nil && new == nil {
		return d
	}
	var ov, nv reflect.Value
	if old != nil {
		ov, d.ID = reflect.ValueOf(old).Elem(), old.ID
	}
	if new != nil {
		nv, d.ID = reflect.ValueOf(new).Elem(), new.ID
	}
	d.Fields, d.Objects = diffStruct(ov, nv, jobDiffSkip())
	d.TaskGroups = diffTaskGroups(jobGroups(old), jobGroups(new))
	d.Type = diffType(old == nil, new == nil, len(d.Fields)+len(d.Objects) > 0 || anyGroupChanged(d.TaskGroups))
	return d
}

// Annotations on changed fields and tasks, as `job plan` prints them
// beside the change ("+/- Task: "web" (forces create/destroy update)").
const (
	AnnotationForcesCreate            = "forces create"
	AnnotationForcesDestroy           = "forces destroy"
	AnnotationForcesInplaceUpdate     = "forces in-place update"
	AnnotationForcesDestructiveUpdate = "forces create/destroy update"
)

// Annotate records the plan's per-group counts in the diff's Updates and
// says what each change forces: a count that grows forces creates, one
// that shrinks destroys; an added task forces a create, a removed one a
// destroy, an edited one the kind of update the plan makes to its group.
func (d *JobDiff) Annotate(a *PlanAnnotations) {
	if d == nil || a == nil {
		return
	}
	for _, tg := range d.TaskGroups {
		du := a.DesiredTGUpdates[tg.Name]
		annotateGroup(tg, du)
		if du == nil {
			continue
		}
		tg.Updates = map[string]uint64{}
		for k, v := range map[string]uint64{
			UpdateTypeIgnore: du.Ignore, UpdateTypeCreate: du.Place, UpdateTypeDestroy: du.Stop,
			UpdateTypeMigrate: du.Migrate, UpdateTypeCanary: du.Canary,
			UpdateTypeInplaceUpdate: du.InPlaceUpdate, UpdateTypeDestructiveUpdate: du.DestructiveUpdate,
		} {
			if v > 0 {
				tg.Updates[k] = v
			}
		}
	}
}

func annotateGroup(tg *TaskGroupDiff, du *DesiredUpdates) {
	for _, f := range tg.Fields {
		if f.Name != "Count" || f.Type != DiffTypeEdited {
			continue
		}
		o, _ := strconv.Atoi(f.Old)
		n, _ := strconv.Atoi(f.New)
		switch {
		case n > o:
			f.Annotations = []string{AnnotationForcesCreate}
		case n < o:
			f.Annotations = []string{AnnotationForcesDestroy}
		}
	}
	for _, t := range tg.Tasks {
		switch {
		case t.Type == DiffTypeAdded:
			t.Annotations = []string{AnnotationForcesCreate}
		case t.Type == DiffTypeDeleted:
			t.Annotations = []string{AnnotationForcesDestroy}
		case t.Type != DiffTypeEdited || du == nil:
		case du.DestructiveUpdate > 0 || du.Canary > 0:
			// Canaries replace the allocations destructively, once promoted.
			t.Annotations = []string{AnnotationForcesDestructiveUpdate}
		case du.InPlaceUpdate > 0:
			t.Annotations = []string{AnnotationForcesInplaceUpdate}
		}
	}
}

func jobGroups(j *Job) []*TaskGroup {
	if j == nil {
		return nil
	}
	return j.TaskGroups
}

func anyGroupChanged(tgs []*TaskGroupDiff) bool {
	for _, tg := range tgs {
		if tg.Type != DiffTypeNone {
			return true
		}
	}
	return false
}

func diffType(added, deleted, changed bool) string {
	switch {
	case added:
		return DiffTypeAdded
	case deleted:
		return DiffTypeDeleted
	case changed:
		return DiffTypeEdited
	}
	return DiffTypeNone
}

// diffTaskGroups matches groups by name; every group appears, unchanged ones
// with type None so that plan annotations can be attached to them.
func diffTaskGroups(old, new []*TaskGroup) []*TaskGroupDiff {
	olds, news := map[string]*TaskGroup{}, map[string]*TaskGroup{}
	var names []string
	for _, tg := range old {
		olds[tg.Name] = tg
		names = append(names, tg.Name)
	}
	for _, tg := range new {
		if _, ok := olds[tg.Name]; !ok {
			names = append(names, tg.Name)
		}
		news[tg.Name] = tg
	}
	sort.Strings(names)
	out := make([]*TaskGroupDiff, 0, len(names))
	for _, name := range names {
		o, n := olds[name], news[name]
		d := &TaskGroupDiff{Name: name}
		d.Fields, d.Objects = diffStruct(structValue(o), structValue(n), map[string]bool{"Name": true, "Tasks": true})
		d.Tasks = diffTasks(groupTasks(o), groupTasks(n))
		d.Type = diffType(o == nil, n == nil, len(d.Fields)+len(d.Objects)+len(d.Tasks) > 0)
		out = append(out, d)
	}
	return out
}

func groupTasks(tg *TaskGroup) []*Task {
	if tg == nil {
		return nil
	}
	return tg.Tasks
}

// diffTasks matches tasks by name and lists the changed ones.
func diffTasks(old, new []*Task) []*TaskDiff {
	olds, news := map[string]*Task{}, map[string]*Task{}
	var names []string
	for _, t := range old {
		olds[t.Name] = t
		names = append(names, t.Name)
	}
	for _, t := range new {
		if _, ok := olds[t.Name]; !ok {
			names = append(names, t.Name)
		}
		news[t.Name] = t
	}
	sort.Strings(names)
	var out []*TaskDiff
	for _, name := range names {
		o, n := olds[name], news[name]
		d := &TaskDiff{Name: name}
		d.Fields, d.Objects = diffStruct(structValue(o), structValue(n), map[string]bool{"Name": true})
		d.Type = diffType(o == nil, n == nil, len(d.Fields)+len(d.Objects) > 0)
		if d.Type != DiffTypeNone {
			out = append(out, d)
		}
	}
	return out
}

// structValue returns the struct a pointer points to, or an invalid Value
// for nil.
func structValue[T any](p *T) reflect.Value {
	if p == nil {
		return reflect.Value{}
	}
	return reflect.ValueOf(p).Elem()
}

// diffStruct compares two values of one struct type field by field; either
// may be invalid (absent).
func diffStruct(old, new reflect.Value, skip map[string]bool) ([]*FieldDiff, []*ObjectDiff) {
	t := structType(old, new)
	if t == nil {
		return nil, nil
	}
	var fields []*FieldDiff
	var objects []*ObjectDiff
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() || skip[f.Name] {
			continue
		}
		fd, od := diffField(f.Name, fieldOf(old, i), fieldOf(new, i), f.Type)
		fields = append(fields, fd...)
		objects = append(objects, od...)
	}
	sortDiffs(fields, objects)
	return fields, objects
}

func structType(a, b reflect.Value) reflect.Type {
	switch {
	case a.IsValid():
		return a.Type()
	case b.IsValid():
		return b.Type()
	}
	return nil
}

func fieldOf(v reflect.Value, i int) reflect.Value {
	if !v.IsValid() {
		return v
	}
	return v.Field(i)
}

// diffField compares one field by the shape of its type.
func diffField(name string, old, new reflect.Value, t reflect.Type) ([]*FieldDiff, []*ObjectDiff) {
	old, new, t = deref(old), deref(new), derefType(t)
	switch {
	case isPrimitive(t):
		if fd := fieldDiff(name, formatValue(old), formatValue(new)); fd != nil {
			return []*FieldDiff{fd}, nil
		}
	case t.Kind() == reflect.Struct:
		if od := objectDiff(name, old, new); od != nil {
			return nil, []*ObjectDiff{od}
		}
	case t.Kind() == reflect.Map && isPrimitive(derefType(t.Elem())):
		return mapFieldDiffs(name, flattenMap(old), flattenMap(new)), nil
	case t.Kind() == reflect.Slice && isPrimitive(derefType(t.Elem())):
		if od := setObjectDiff(name, old, new); od != nil {
			return nil, []*ObjectDiff{od}
		}
	case t.Kind() == reflect.Slice:
		return nil, elementDiffs(singular(name), old, new)
	case t.Kind() == reflect.Map || t.Kind() == reflect.Interface:
		return nil, flatObjectDiff(name, old, new)
	}
	return nil, nil
}

// objectDiff compares two nested structs.
func objectDiff(name string, old, new reflect.Value) *ObjectDiff {
	fields, objects := diffStruct(old, new, nil)
	if len(fields)+len(objects) == 0 {
		return nil
	}
	return &ObjectDiff{Type: diffType(!old.IsValid(), !new.IsValid(), true), Name: name, Fields: fields, Objects: objects}
}

// elementDiffs compares slices of structs as sets: elements present in both
// are unchanged; the rest are added or deleted objects.
func elementDiffs(name string, old, new reflect.Value) []*ObjectDiff {
	oldKeys, newKeys := elementKeys(old), elementKeys(new)
	var out []*ObjectDiff
	for key, v := range oldKeys {
		if _, ok := newKeys[key]; !ok {
			if od := objectDiff(name, deref(v), reflect.Value{}); od != nil {
				out = append(out, od)
			}
		}
	}
	for key, v := range newKeys {
		if _, ok := oldKeys[key]; !ok {
			if od := objectDiff(name, reflect.Value{}, deref(v)); od != nil {
				out = append(out, od)
			}
		}
	}
	return out
}

func elementKeys(v reflect.Value) map[string]reflect.Value {
	out := map[string]reflect.Value{}
	if !v.IsValid() {
		return out
	}
	for i := 0; i < v.Len(); i++ {
		e := v.Index(i)
		if e.Kind() == reflect.Pointer && e.IsNil() {
			continue
		}
		out[flatKey(e)] = e
	}
	return out
}

// setObjectDiff compares slices of primitives as sets of values.
func setObjectDiff(name string, old, new reflect.Value) *ObjectDiff {
	ov, nv := sliceValues(old), sliceValues(new)
	var fields []*FieldDiff
	for v := range ov {
		if !nv[v] {
			fields = append(fields, &FieldDiff{Type: DiffTypeDeleted, Name: name, Old: v})
		}
	}
	for v := range nv {
		if !ov[v] {
			fields = append(fields, &FieldDiff{Type: DiffTypeAdded, Name: name, New: v})
		}
	}
	if len(fields) == 0 {
		return nil
	}
	sortDiffs(fields, nil)
	return &ObjectDiff{Type: diffType(len(ov) == 0, len(nv) == 0, true), Name: name, Fields: fields}
}

func sliceValues(v reflect.Value) map[string]bool {
	out := map[string]bool{}
	if v.IsValid() {
		for i := 0; i < v.Len(); i++ {
			out[formatValue(deref(v.Index(i)))] = true
		}
	}
	return out
}

// flatObjectDiff compares free-form values (task config) flattened to
// "key[0].sub" paths.
func flatObjectDiff(name string, old, new reflect.Value) []*ObjectDiff {
	of, nf := map[string]string{}, map[string]string{}
	flatten("", old, of)
	flatten("", new, nf)
	fields := mapFieldDiffs("", of, nf)
	if len(fields) == 0 {
		return nil
	}
	return []*ObjectDiff{{Type: diffType(len(of) == 0, len(nf) == 0, true), Name: name, Fields: fields}}
}

// mapFieldDiffs compares flattened maps; with a name, keys become
// "name[key]".
func mapFieldDiffs(name string, old, new map[string]string) []*FieldDiff {
	keys := map[string]bool{}
	for k := range old {
		keys[k] = true
	}
	for k := range new {
		keys[k] = true
	}
	var out []*FieldDiff
	for k := range keys {
		n := k
		if name != "" {
			n = name + "[" + k + "]"
		}
		if fd := fieldDiff(n, old[k], new[k]); fd != nil {
			out = append(out, fd)
		}
	}
	sortDiffs(out, nil)
	return out
}

func flattenMap(v reflect.Value) map[string]string {
	out := map[string]string{}
	if v.IsValid() {
		iter := v.MapRange()
		for iter.Next() {
			out[fmt.Sprint(iter.Key().Interface())] = formatValue(deref(iter.Value()))
		}
	}
	return out
}

// flatten writes every primitive under v into out, keyed by its path.
func flatten(prefix string, v reflect.Value, out map[string]string) {
	v = deref(v)
	if !v.IsValid() {
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			out[prefix] = formatValue(v)
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				flatten(join(prefix, v.Type().Field(i).Name), v.Field(i), out)
			}
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			flatten(join(prefix, fmt.Sprint(iter.Key().Interface())), iter.Value(), out)
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			out[prefix] = string(v.Bytes())
			return
		}
		for i := 0; i < v.Len(); i++ {
			flatten(prefix+"["+strconv.Itoa(i)+"]", v.Index(i), out)
		}
	default:
		out[prefix] = formatValue(v)
	}
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// flatKey is a canonical string of a value, for set comparison.
func flatKey(v reflect.Value) string {
	m := map[string]string{}
	flatten("", v, m)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "=" + m[k] + "\x00")
	}
	return b.String()
}

func fieldDiff(name, old, new string) *FieldDiff {
	if old == new {
		return nil
	}
	return &FieldDiff{Type: diffType(old == "", new == "", true), Name: name, Old: old, New: new}
}

func deref(v reflect.Value) reflect.Value {
	for v.IsValid() && (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) {
		if v.IsNil() {
			return reflect.Value{}
		}
		v = v.Elem()
	}
	return v
}

func derefType(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// isPrimitive reports whether values of t print as one field.
func isPrimitive(t reflect.Type) bool {
	if t == reflect.TypeFor[time.Time]() || t == reflect.TypeFor[[]byte]() {
		return true
	}
	switch t.Kind() {
	case reflect.Bool, reflect.String, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// formatValue prints a primitive; absent values print as "".
func formatValue(v reflect.Value) string {
	if !v.IsValid() {
		return ""
	}
	switch x := v.Interface().(type) {
	case time.Time:
		if x.IsZero() {
			return ""
		}
		return x.UTC().Format(time.RFC3339)
	case time.Duration:
		return strconv.FormatInt(int64(x), 10)
	case []byte:
		return string(x)
	}
	return fmt.Sprint(v.Interface())
}

// singular names one element of a list field: Constraints → Constraint.
func singular(name string) string {
	switch {
	case strings.HasSuffix(name, "ies"):
		return strings.TrimSuffix(name, "ies") + "y"
	case strings.HasSuffix(name, "s") && !strings.HasSuffix(name, "ss"):
		return strings.TrimSuffix(name, "s")
	}
	return name
}

func sortDiffs(fields []*FieldDiff, objects []*ObjectDiff) {
	sort.SliceStable(fields, func(i, j int) bool {
		if fields[i].Name != fields[j].Name {
			return fields[i].Name < fields[j].Name
		}
		return fields[i].Old+fields[i].New < fields[j].Old+fields[j].New
	})
	sort.SliceStable(objects, func(i, j int) bool {
		if objects[i].Name != objects[j].Name {
			return objects[i].Name < objects[j].Name
		}
		return objects[i].Type < objects[j].Type
	})
}
