package java

import (
	"errors"
	"slices"
	"strings"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/drivers/exec"
)

// Name is the java driver's name in job files.
const Name = "java"

// TaskConfig is a java task's config block.
type TaskConfig struct {
	// Class is the main class; with JarPath, it is run from the jar.
	Class     string `config:"class"`
	ClassPath string `config:"class_path"`
	// JarPath is the jar to run, relative to the task dir ("local/app.jar").
	JarPath    string   `config:"jar_path"`
	JVMOptions []string `config:"jvm_options"`
	Args       []string `config:"args"`
	exec.Options
}

// New returns the java driver: the exec driver with java's flavor.
func New(cfg exec.Config) *exec.Driver {
	fp := newFingerprinter()
	return exec.NewFlavored(cfg, exec.Flavor{Name: Name, Decode: decode, Fingerprint: fp.fingerprint, SlowFingerprint: true})
}

func decode(raw map[string]any) (*exec.Command, error) {
	var tc TaskConfig
	if err := drivers.DecodeConfig(raw, &tc); err != nil {
		return nil, err
	}
	return command(tc)
}

// command builds `java [jvm_options] [-cp path] (-jar jar | class) [args]`.
// A class given with a jar runs from the jar (for jars without a Main-Class
// in their manifest), so the jar joins the class path.
func command(tc TaskConfig) (*exec.Command, error) {
	if tc.JarPath == "" && tc.Class == "" {
		return nil, errors.New("jar_path or class must be set")
	}
	args := slices.Clone(tc.JVMOptions)
	cp := tc.ClassPath
	if tc.JarPath != "" && tc.Class != "" {
		cp = strings.Join(slices.DeleteFunc([]string{tc.JarPath, cp}, func(s string) bool { return s == "" }), ":")
	}
	if cp != "" {
		args = append(args, "-cp", cp)
	}
	if tc.Class != "" {
		args = append(args, tc.Class)
	} else {
		args = append(args, "-jar", tc.JarPath)
	}
	args = append(args, tc.Args...)
	return &exec.Command{Path: "java", Args: args, Options: tc.Options}, nil
}

// ValidateTaskConfig checks a java task's config without a node: keys,
// types, and a jar or a class to run. The servers answer `job validate`
// with it.
func ValidateTaskConfig(raw map[string]any) error {
	_, err := decode(raw)
	return err
}
