// Package allocdir builds and destroys an allocation's directory tree on the
// client:
//
//	<alloc_dir>/<allocID>/
//	├── alloc/              shared by all tasks (NOMAD_ALLOC_DIR)
//	│   ├── data/           ephemeral_disk data
//	│   ├── logs/           <task>.stdout.<n>, <task>.stderr.<n>
//	│   └── tmp/
//	└── <task>/             the task's working directory
//	    ├── local/          NOMAD_TASK_DIR
//	    ├── secrets/        NOMAD_SECRETS_DIR; tmpfs, noexec
//	    ├── private/        roam's own files (executor state); tmpfs
//	    └── tmp/
//
// Every directory is mode 0777. secrets/ and private/ are 1 MiB tmpfs mounts
// when the client runs as root on Linux, so secrets never reach the disk; when
// they cannot be mounted they are plain directories and a warning is logged.
//
// Map of the package:
//
//	alloc_dir.go  AllocDir: build the shared dir, hand out task dirs, destroy
//	task_dir.go   TaskDir: build one task's dirs, mount its tmpfs dirs
//	mount.go      tmpfs mount, unmount and mount-point detection
package allocdir
