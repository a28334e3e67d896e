package jobspec

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/hashicorp/go-cty-funcs/cidr"
	"github.com/hashicorp/go-cty-funcs/crypto"
	"github.com/hashicorp/go-cty-funcs/encoding"
	"github.com/hashicorp/go-cty-funcs/filesystem"
	"github.com/hashicorp/go-cty-funcs/uuid"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	yaml "github.com/zclconf/go-cty-yaml"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// functions returns the function table of a job file. The table is built per
// parse: function values are immutable, but a fresh map keeps callers from
// sharing (and mutating) one. Filesystem functions read relative to baseDir
// and only when allowFS is set; otherwise they fail with a clear message,
// because a server parsing a submitted job must not read its own disk.
func functions(baseDir string, allowFS bool) map[string]function.Function {
	fns := map[string]function.Function{
		// collections
		"chunklist":       stdlib.ChunklistFunc,
		"coalesce":        stdlib.CoalesceFunc,
		"coalescelist":    stdlib.CoalesceListFunc,
		"compact":         stdlib.CompactFunc,
		"concat":          stdlib.ConcatFunc,
		"contains":        stdlib.ContainsFunc,
		"distinct":        stdlib.DistinctFunc,
		"element":         stdlib.ElementFunc,
		"flatten":         stdlib.FlattenFunc,
		"index":           indexOf(),
		"keys":            stdlib.KeysFunc,
		"length":          stdlib.LengthFunc,
		"lookup":          stdlib.LookupFunc,
		"merge":           stdlib.MergeFunc,
		"range":           stdlib.RangeFunc,
		"reverse":         stdlib.ReverseListFunc,
		"setintersection": stdlib.SetIntersectionFunc,
		"setproduct":      guarded(stdlib.SetProductFunc, limitProduct),
		"setsubtract":     stdlib.SetSubtractFunc,
		"setunion":        stdlib.SetUnionFunc,
		"slice":           stdlib.SliceFunc,
		"sort":            stdlib.SortFunc,
		"values":          stdlib.ValuesFunc,
		"zipmap":          stdlib.ZipmapFunc,
		// strings
		"chomp":         stdlib.ChompFunc,
		"format":        stdlib.FormatFunc,
		"formatlist":    stdlib.FormatListFunc,
		"indent":        stdlib.IndentFunc,
		"join":          stdlib.JoinFunc,
		"lower":         stdlib.LowerFunc,
		"regex":         stdlib.RegexFunc,
		"regexall":      stdlib.RegexAllFunc,
		"regex_replace": stdlib.RegexReplaceFunc,
		"replace":       stdlib.ReplaceFunc,
		"split":         stdlib.SplitFunc,
		"strlen":        stdlib.StrlenFunc,
		"strrev":        stdlib.ReverseFunc,
		"substr":        stdlib.SubstrFunc,
		"title":         stdlib.TitleFunc,
		"trim":          stdlib.TrimFunc,
		"trimprefix":    stdlib.TrimPrefixFunc,
		"trimspace":     stdlib.TrimSpaceFunc,
		"trimsuffix":    stdlib.TrimSuffixFunc,
		"upper":         stdlib.UpperFunc,
		// numbers
		"abs":      stdlib.AbsoluteFunc,
		"ceil":     stdlib.CeilFunc,
		"floor":    stdlib.FloorFunc,
		"log":      stdlib.LogFunc,
		"max":      stdlib.MaxFunc,
		"min":      stdlib.MinFunc,
		"parseint": stdlib.ParseIntFunc,
		"pow":      stdlib.PowFunc,
		"signum":   stdlib.SignumFunc,
		// encoding
		"base64decode": encoding.Base64DecodeFunc,
		"base64encode": encoding.Base64EncodeFunc,
		"csvdecode":    stdlib.CSVDecodeFunc,
		"jsondecode":   stdlib.JSONDecodeFunc,
		"jsonencode":   stdlib.JSONEncodeFunc,
		"urlencode":    encoding.URLEncodeFunc,
		"yamldecode":   yaml.YAMLDecodeFunc,
		"yamlencode":   yaml.YAMLEncodeFunc,
		// crypto and ids
		"bcrypt":     guarded(crypto.BcryptFunc, limitBcryptCost),
		"md5":        crypto.Md5Func,
		"rsadecrypt": crypto.RsaDecryptFunc,
		"sha1":       crypto.Sha1Func,
		"sha256":     crypto.Sha256Func,
		"sha512":     crypto.Sha512Func,
		"uuidv4":     uuid.V4Func,
		"uuidv5":     uuid.V5Func,
		// networking
		"cidrhost":    cidr.HostFunc,
		"cidrnetmask": cidr.NetmaskFunc,
		"cidrsubnet":  cidr.SubnetFunc,
		"cidrsubnets": cidr.SubnetsFunc,
		// time
		"formatdate": stdlib.FormatDateFunc,
		"timeadd":    stdlib.TimeAddFunc,
		// misc
		"can":     tryfunc.CanFunc,
		"convert": typeexpr.ConvertFunc,
		"try":     tryfunc.TryFunc,
	}
	for name, fn := range fsFunctions(baseDir) {
		if !allowFS {
			fn = deniedFunc(name)
		}
		fns[name] = fn
	}
	return fns
}

func fsFunctions(baseDir string) map[string]function.Function {
	if baseDir == "" {
		baseDir = "."
	}
	return map[string]function.Function{
		"abspath":    filesystem.AbsPathFunc,
		"basename":   filesystem.BasenameFunc,
		"dirname":    filesystem.DirnameFunc,
		"file":       filesystem.MakeFileFunc(baseDir, false),
		"filebase64": filesystem.MakeFileFunc(baseDir, true),
		"fileexists": filesystem.MakeFileExistsFunc(baseDir),
		"fileset":    filesystem.MakeFileSetFunc(baseDir),
		"pathexpand": filesystem.PathExpandFunc,
	}
}

// deniedFunc stands in for a filesystem function when the caller did not
// allow file access (the HTTP parse endpoint).
func deniedFunc(name string) function.Function {
	return function.New(&function.Spec{
		VarParam: &function.Parameter{Name: "args", Type: cty.DynamicPseudoType, AllowNull: true, AllowUnknown: true},
		Type:     function.StaticReturnType(cty.DynamicPseudoType),
		Impl: func([]cty.Value, cty.Type) (cty.Value, error) {
			return cty.DynamicVal, errors.New(name + "() reads local files, which is only allowed when parsing on the command line")
		},
	})
}

// indexOf is index(list, value): the position of the first element equal to
// value, as job files written for Nomad expect (cty's own "index" looks up an
// element by key instead).
func indexOf() function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{
			{Name: "list", Type: cty.DynamicPseudoType},
			{Name: "value", Type: cty.DynamicPseudoType},
		},
		Type: function.StaticReturnType(cty.Number),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			list, value := args[0], args[1]
			ty := list.Type()
			if !ty.IsListType() && !ty.IsTupleType() {
				return cty.NilVal, errors.New("argument must be a list or tuple")
			}
			if !list.IsWhollyKnown() || !value.IsKnown() {
				return cty.UnknownVal(cty.Number), nil
			}
			for it := list.ElementIterator(); it.Next(); {
				i, v := it.Element()
				if eq, err := stdlib.Equal(v, value); err == nil && eq.IsKnown() && eq.True() {
					return i, nil
				}
			}
			return cty.NilVal, errors.New("item not found")
		},
	})
}

// baseDirOf is the directory filesystem functions resolve paths against.
func baseDirOf(filename string) string {
	return filepath.Dir(filename)
}

// Job files reach the server through the HTTP parse endpoint, so functions
// whose cost the caller controls are bounded.
const (
	maxProductSize = 10000
	maxBcryptCost  = 12
)

// guarded wraps fn so that check sees the arguments before fn runs.
func guarded(fn function.Function, check func([]cty.Value) error) function.Function {
	return function.New(&function.Spec{
		Params:   fn.Params(),
		VarParam: fn.VarParam(),
		Type:     fn.ReturnTypeForValues,
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			if err := check(args); err != nil {
				return cty.NilVal, err
			}
			return fn.Call(args)
		},
	})
}

func limitProduct(args []cty.Value) error {
	size := 1
	for _, a := range args {
		if !a.IsKnown() || a.IsNull() || !a.CanIterateElements() {
			continue
		}
		size *= max(a.LengthInt(), 1)
		if size > maxProductSize {
			return fmt.Errorf("the product would have more than %d elements", maxProductSize)
		}
	}
	return nil
}

func limitBcryptCost(args []cty.Value) error {
	if len(args) < 2 || !args[1].IsKnown() || args[1].IsNull() {
		return nil
	}
	if cost, _ := args[1].AsBigFloat().Int64(); cost > maxBcryptCost {
		return fmt.Errorf("cost %d is above the limit of %d", cost, maxBcryptCost)
	}
	return nil
}
