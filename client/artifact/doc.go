// Package artifact fetches a task's artifacts into its directory before the
// task starts: from local paths, file:// URLs and http(s) URLs; verifies the
// `checksum` option (md5, sha1, sha256, sha512); unpacks .tar, .tar.gz/.tgz,
// .tar.bz2/.tbz2, .zip and .gz files unless mode is "file".
//
// Everything is written through an os.Root opened on the task directory, so
// neither the destination nor an archive entry (by name or through a
// symlink) can write outside it.
//
//	source ──► local file, or HTTP download into a temp file
//	       ──► checksum check
//	       ──► mode file: copy to destination
//	           mode any:  archive? unpack into destination : copy into it
//	           mode dir:  archive or directory, unpacked/copied into destination
//
// Map of the package:
//
//	fetch.go    Request, Fetch: source resolution, modes, destination
//	checksum.go the checksum option
//	archive.go  unpacking tar, zip and gzip safely under a root
package artifact
