package server

import (
	"sort"
	"strings"

	"github.com/hashicorp/go-bexpr"
)

// listFilter applies the query's go-bexpr expression to each object of a
// list. An empty expression keeps everything; a malformed expression, or one
// that names a field the objects lack, is a 400.
type listFilter struct {
	eval *bexpr.Evaluator
}

func newListFilter(expr string) (*listFilter, error) {
	if strings.TrimSpace(expr) == "" {
		return &listFilter{}, nil
	}
	ev, err := bexpr.CreateEvaluator(expr)
	if err != nil {
		return nil, badRequest("failed to parse filter: %v", err)
	}
	return &listFilter{eval: ev}, nil
}

func (f *listFilter) match(obj any) (bool, error) {
	if f.eval == nil {
		return true, nil
	}
	ok, err := f.eval.Evaluate(obj)
	if err != nil {
		return false, badRequest("failed to evaluate filter: %v", err)
	}
	return ok, nil
}

// filterList keeps the objects of in that match expr.
func filterList[T any](in []T, expr string) ([]T, error) {
	f, err := newListFilter(expr)
	if err != nil || f.eval == nil {
		return in, err
	}
	out := make([]T, 0, len(in))
	for _, v := range in {
		ok, err := f.match(v)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, v)
		}
	}
	return out, nil
}

// paginate sorts a list by key and returns at most perPage items starting at
// the item whose key is nextToken, with the token of the following page
// ("" on the last page). perPage <= 0 returns everything.
func paginate[T any](in []T, key func(T) string, perPage int32, nextToken string, reverse bool) ([]T, string) {
	sort.SliceStable(in, func(i, j int) bool {
		if reverse {
			return key(in[i]) > key(in[j])
		}
		return key(in[i]) < key(in[j])
	})
	start := 0
	if nextToken != "" {
		start = sort.Search(len(in), func(i int) bool {
			if reverse {
				return key(in[i]) <= nextToken
			}
			return key(in[i]) >= nextToken
		})
	}
	in = in[start:]
	if perPage <= 0 || int(perPage) >= len(in) {
		return in, ""
	}
	return in[:perPage], key(in[perPage])
}
