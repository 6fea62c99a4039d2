package resource

import "reflect"

// deepCopy copies v by reflection; see Typed for what is copied deeply.
func deepCopy[T any](v T) T {
	rv := reflect.ValueOf(&v).Elem()
	if !needsCopy(rv.Type(), 0) {
		return v
	}

	var out T

	reflect.ValueOf(&out).Elem().Set(copyValue(rv))

	return out
}

// needsCopy reports whether values of t may share memory when assigned.
// depth stops the walk on recursive types, which are assumed to need a copy.
func needsCopy(t reflect.Type, depth int) bool {
	if depth > 16 {
		return true
	}

	switch t.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface:
		return true
	case reflect.Array:
		return needsCopy(t.Elem(), depth+1)
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if f.IsExported() && needsCopy(f.Type, depth+1) {
				return true
			}
		}
	}

	return false
}

func copyValue(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Pointer:
		return copyPointer(v)
	case reflect.Interface:
		return copyInterface(v)
	case reflect.Map:
		return copyMap(v)
	case reflect.Slice:
		return copySlice(v)
	case reflect.Array:
		out := reflect.New(v.Type()).Elem()
		for i := range v.Len() {
			out.Index(i).Set(copyValue(v.Index(i)))
		}

		return out
	case reflect.Struct:
		return copyStruct(v)
	default:
		return v
	}
}

func copyPointer(v reflect.Value) reflect.Value {
	if v.IsNil() {
		return reflect.Zero(v.Type())
	}

	out := reflect.New(v.Type().Elem())
	out.Elem().Set(copyValue(v.Elem()))

	return out
}

func copyInterface(v reflect.Value) reflect.Value {
	out := reflect.New(v.Type()).Elem()
	if !v.IsNil() {
		out.Set(copyValue(v.Elem()))
	}

	return out
}

func copyMap(v reflect.Value) reflect.Value {
	if v.IsNil() {
		return reflect.Zero(v.Type())
	}

	out := reflect.MakeMapWithSize(v.Type(), v.Len())

	iter := v.MapRange()
	for iter.Next() {
		out.SetMapIndex(iter.Key(), copyValue(iter.Value()))
	}

	return out
}

func copySlice(v reflect.Value) reflect.Value {
	if v.IsNil() {
		return reflect.Zero(v.Type())
	}

	out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
	for i := range v.Len() {
		out.Index(i).Set(copyValue(v.Index(i)))
	}

	return out
}

// copyStruct copies the whole struct (unexported fields shallowly), then
// replaces every exported field by a deep copy.
func copyStruct(v reflect.Value) reflect.Value {
	out := reflect.New(v.Type()).Elem()
	out.Set(v)

	for i := range v.NumField() {
		if v.Type().Field(i).IsExported() {
			out.Field(i).Set(copyValue(v.Field(i)))
		}
	}

	return out
}
