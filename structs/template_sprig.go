package structs

import "slices"

// sprigTemplateFuncs are the sprig functions consul-template defines (its
// hermetic set, each called as sprig_<name>). A name outside this list is
// not defined in the renderer, so validation refuses it rather than let the
// task fail at its first render. A test in package template checks the list
// against the library in both directions.
var sprigTemplateFuncs = []string{
	"abbrev", "abbrevboth", "add", "add1", "add1f", "addf", "adler32sum", "ago", "all", "any",
	"append", "atoi", "b32dec", "b32enc", "b64dec", "b64enc", "base", "bcrypt", "biggest",
	"buildCustomCert", "camelcase", "cat", "ceil", "chunk", "clean", "coalesce", "compact",
	"concat", "contains", "decryptAES", "deepCopy", "deepEqual", "default", "derivePassword",
	"dict", "dig", "dir", "div", "divf", "duration", "durationRound", "empty", "encryptAES",
	"ext", "fail", "first", "float64", "floor", "fromJson", "genCA", "genCAWithKey",
	"genPrivateKey", "genSelfSignedCert", "genSelfSignedCertWithKey", "genSignedCert",
	"genSignedCertWithKey", "get", "has", "hasKey", "hasPrefix", "hasSuffix", "hello",
	"htpasswd", "indent", "initial", "initials", "int", "int64", "isAbs", "join", "kebabcase",
	"keys", "kindIs", "kindOf", "last", "list", "lower", "max", "maxf", "merge",
	"mergeOverwrite", "min", "minf", "mod", "mul", "mulf", "mustAppend", "mustChunk",
	"mustCompact", "mustDateModify", "mustDeepCopy", "mustFirst", "mustFromJson", "mustHas",
	"mustInitial", "mustLast", "mustMerge", "mustMergeOverwrite", "mustPrepend", "mustPush",
	"mustRegexFind", "mustRegexFindAll", "mustRegexMatch", "mustRegexReplaceAll",
	"mustRegexReplaceAllLiteral", "mustRegexSplit", "mustRest", "mustReverse", "mustSlice",
	"mustToDate", "mustToJson", "mustToPrettyJson", "mustToRawJson", "mustUniq", "mustWithout",
	"must_date_modify", "nindent", "nospace", "omit", "osBase", "osClean", "osDir", "osExt",
	"osIsAbs", "pick", "pluck", "plural", "prepend", "push", "quote", "randInt", "regexFind",
	"regexFindAll", "regexMatch", "regexQuoteMeta", "regexReplaceAll", "regexReplaceAllLiteral",
	"regexSplit", "repeat", "replace", "rest", "reverse", "round", "semver", "semverCompare",
	"seq", "set", "sha1sum", "sha256sum", "sha512sum", "shuffle", "slice", "snakecase",
	"sortAlpha", "split", "splitList", "splitn", "squote", "sub", "subf", "substr", "swapcase",
	"ternary", "title", "toDate", "toDecimal", "toJson", "toPrettyJson", "toRawJson",
	"toString", "toStrings", "trim", "trimAll", "trimPrefix", "trimSuffix", "trimall", "trunc",
	"tuple", "typeIs", "typeIsLike", "typeOf", "uniq", "unixEpoch", "unset", "until",
	"untilStep", "untitle", "upper", "urlJoin", "urlParse", "values", "without", "wrap",
	"wrapWith",
}

// SprigTemplateFuncs lists the sprig functions templates may call, with
// their sprig_ prefix, for the renderer's tests.
func SprigTemplateFuncs() []string {
	out := make([]string, len(sprigTemplateFuncs))
	for i, n := range sprigTemplateFuncs {
		out[i] = "sprig_" + n
	}
	return out
}

// whySprigHost names why sprig's host-reading functions are refused: sprig's
// own versions read the agent's environment, clock-free randomness or DNS,
// and consul-template leaves them out of its map.
const whySprigHost = "it would read the client host (its environment, resolver or clock) rather than the task's; use env for the task's environment"

// refusedSprigFuncs are sprig functions outside consul-template's hermetic
// set, named so the error says why rather than only "not defined".
func refusedSprigFuncs() map[string]string {
	out := map[string]string{}
	for _, n := range []string{
		"env", "expandenv", "getHostByName", "now", "date", "dateInZone", "date_in_zone",
		"dateModify", "date_modify", "htmlDate", "htmlDateInZone", "uuidv4",
		"randAlpha", "randAlphaNum", "randAscii", "randBytes", "randNumeric",
	} {
		out["sprig_"+n] = whySprigHost
	}
	return out
}

func isSprigFunc(name string) bool {
	n, ok := cutSprig(name)
	return ok && slices.Contains(sprigTemplateFuncs, n)
}

func cutSprig(name string) (string, bool) {
	const p = "sprig_"
	if len(name) <= len(p) || name[:len(p)] != p {
		return "", false
	}
	return name[len(p):], true
}
