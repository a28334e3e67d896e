package artifact

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// Defaults of the client `artifact` block, Nomad's where Nomad has the
// setting. They bound the work one artifact can make the agent do: a
// download that never ends, a body that fills the disk, an archive that
// expands a thousandfold or into millions of files.
const (
	DefaultHTTPReadTimeout             = 30 * time.Minute
	DefaultHTTPMaxSize                 = 100 << 30 // 100 GiB, Nomad's http_max_size
	DefaultDecompressionLimitSize      = 100 << 30 // 100 GiB, Nomad's decompression_limit_size
	DefaultDecompressionLimitFileCount = 4096      // Nomad's decompression_limit_file_count
	// DefaultFetcherMemory bounds the fetcher process's data (roam's own).
	DefaultFetcherMemory = 2 << 30
)

// ErrLimit is wrapped by every error of a fetch stopped by a limit.
var ErrLimit = errors.New("artifact limit exceeded")

// Limits bound one artifact's fetch. Zero means unlimited (in-process
// fetches of tests); the client always sets them from Config.
type Limits struct {
	// MaxDownloadBytes bounds an HTTP body (http_max_size).
	MaxDownloadBytes int64
	// MaxUnpackedBytes bounds the bytes written while unpacking or copying
	// (decompression_limit_size).
	MaxUnpackedBytes int64
	// MaxFiles bounds the entries (files, directories, links) written
	// (decompression_limit_file_count).
	MaxFiles int
}

// budget counts what one fetch has written against its Limits.
type budget struct {
	lim   Limits
	bytes int64
	files int
}

// entry accounts for one more file, directory or link named name.
func (b *budget) entry(name string) error {
	if b == nil {
		return nil
	}
	b.files++
	if b.lim.MaxFiles > 0 && b.files > b.lim.MaxFiles {
		return fmt.Errorf("%w: more than %d files (decompression_limit_file_count) at %s", ErrLimit, b.lim.MaxFiles, name)
	}
	return nil
}

// reader counts the bytes read from r, failing once the total passes
// MaxUnpackedBytes: the writer stops at the limit, not at the archive's end.
func (b *budget) reader(r io.Reader, name string) io.Reader {
	if b == nil || b.lim.MaxUnpackedBytes <= 0 {
		return r
	}
	return &budgetReader{r: r, b: b, name: name}
}

type budgetReader struct {
	r    io.Reader
	b    *budget
	name string
}

func (br *budgetReader) Read(p []byte) (int, error) {
	n, err := br.r.Read(p)
	br.b.bytes += int64(n)
	if br.b.bytes > br.b.lim.MaxUnpackedBytes {
		return 0, fmt.Errorf("%w: more than %d bytes unpacked (decompression_limit_size) at %s", ErrLimit, br.b.lim.MaxUnpackedBytes, br.name)
	}
	return n, err
}
