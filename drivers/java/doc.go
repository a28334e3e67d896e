// Package java is the java task driver: it builds a java command line from
// the task's jar_path or class, class_path, jvm_options and args, and runs it
// with the exec driver's machinery (drivers/exec, as a Flavor), so java tasks
// are isolated exactly as exec tasks are. The JDK must be under a chroot_env
// path (the defaults cover /usr/lib/jvm and /etc/alternatives).
//
// The driver is detected when `java` is on the client's PATH; its
// fingerprint adds driver.java.version, driver.java.runtime and
// driver.java.vm from `java -version`.
//
// Map of the package:
//
//	driver.go       New, the task config and the command line it becomes
//	fingerprint.go  finding java and parsing `java -version`
package java
