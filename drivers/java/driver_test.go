package java

import (
	"context"
	"errors"
	"os"
	osexec "os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/drivers/exec"
	"github.com/roam-sh/roam/drivers/exec/exectest"
	"github.com/roam-sh/roam/drivers/executor/executortest"
	"github.com/roam-sh/roam/testutil"
)

func TestMain(m *testing.M) {
	executortest.MaybeRun()
	os.Exit(m.Run())
}

func TestCommandLine(t *testing.T) {
	for _, tc := range []struct {
		cfg  TaskConfig
		want []string
	}{
		{TaskConfig{JarPath: "local/app.jar", JVMOptions: []string{"-Xmx64m"}, Args: []string{"a"}},
			[]string{"-Xmx64m", "-jar", "local/app.jar", "a"}},
		{TaskConfig{Class: "Hello", ClassPath: "/local"}, []string{"-cp", "/local", "Hello"}},
		{TaskConfig{Class: "Hello"}, []string{"Hello"}},
		{TaskConfig{Class: "app.Main", JarPath: "local/app.jar", ClassPath: "/local/lib/*"},
			[]string{"-cp", "local/app.jar:/local/lib/*", "app.Main"}},
	} {
		cmd, err := command(tc.cfg)
		if err != nil || cmd.Path != "java" || !slices.Equal(cmd.Args, tc.want) {
			t.Errorf("command(%+v) = %+v, %v; want java %v", tc.cfg, cmd, err, tc.want)
		}
	}
	if _, err := command(TaskConfig{ClassPath: "x"}); err == nil || err.Error() != "jar_path or class must be set" {
		t.Fatalf("neither jar nor class: %v", err)
	}
	cmd, err := decode(map[string]any{"class": "Hello", "pid_mode": "host", "cap_drop": []any{"all"}})
	if err != nil || cmd.Options.PIDMode != "host" || !slices.Equal(cmd.Options.CapDrop, []string{"all"}) {
		t.Fatalf("exec options in a java config: %+v %v", cmd, err)
	}
}

func TestParseVersion(t *testing.T) {
	out := `Picked up JAVA_TOOL_OPTIONS: -Dx=y
openjdk version "17.0.15" 2025-04-15
OpenJDK Runtime Environment (build 17.0.15+6-Debian-1deb12u1)
OpenJDK 64-Bit Server VM (build 17.0.15+6-Debian-1deb12u1, mixed mode, sharing)
`
	v, err := parseVersion(out)
	if err != nil || v.version != "17.0.15" || v.runtime != "OpenJDK Runtime Environment (build 17.0.15+6-Debian-1deb12u1)" ||
		!strings.HasPrefix(v.vm, "OpenJDK 64-Bit Server VM") {
		t.Fatalf("parse: %+v %v", v, err)
	}
	if _, err := parseVersion("java: command not found"); err == nil {
		t.Fatal("garbage parsed")
	}
}

func TestFingerprintWithoutJava(t *testing.T) {
	f := newFingerprinter()
	f.lookPath = func(string) (string, error) { return "", errors.New("not found") }
	if fp := f.fingerprint(context.Background()); fp.Health != drivers.HealthStateUndetected || fp.Attributes != nil {
		t.Fatalf("fingerprint without java: %+v", fp)
	}
}

func requireJava(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range append([]string{"java"}, tools...) {
		if _, err := osexec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (scripts/test-setup.sh installs a JDK)", tool)
		}
	}
}

func newDriver(t *testing.T) *exec.Driver {
	t.Helper()
	host := exectest.RequireIsolation(t)
	d := New(exec.Config{CgroupParent: exectest.CgroupParent(t, host), Executor: executortest.Binary(), Logger: testutil.Logger(t)})
	t.Cleanup(d.Shutdown)
	return d
}

func TestFingerprint(t *testing.T) {
	requireJava(t)
	fp := newDriver(t).Fingerprint(context.Background())
	if fp.Health != drivers.HealthStateHealthy || fp.Attributes["driver.java"] != "1" ||
		fp.Attributes["driver.java.version"] == "" || fp.Attributes["driver.java.runtime"] == "" || fp.Attributes["driver.java.vm"] == "" {
		t.Fatalf("fingerprint %+v", fp)
	}
}

// helloClass compiles a class printing a system property set by jvm_options
// and its arguments into the task's local dir.
func helloClass(t *testing.T, cfg *drivers.TaskConfig) {
	t.Helper()
	compileClass(t, cfg, "Hello", `public class Hello {
  public static void main(String[] args) {
    System.out.println(System.getProperty("greeting") + " " + String.join(",", args) + " " + System.getProperty("user.name"));
  }
}
`)
}

// compileClass compiles the source of class name into the task's local dir.
func compileClass(t *testing.T, cfg *drivers.TaskConfig, name, code string) {
	t.Helper()
	src := filepath.Join(t.TempDir(), name+".java")
	if err := os.WriteFile(src, []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := osexec.Command("javac", "-nowarn", "-d", cfg.TaskDir.LocalDir, src).CombinedOutput()
	if err != nil {
		t.Fatalf("javac: %v: %s", err, out)
	}
}

func runJava(t *testing.T, d *exec.Driver, cfg *drivers.TaskConfig) string {
	t.Helper()
	_, err := d.StartTask(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.DestroyTask(context.Background(), cfg.ID, true); err != nil && !errors.Is(err, drivers.ErrTaskNotFound) {
			t.Errorf("destroy: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ch, err := d.WaitTask(ctx, cfg.ID)
	if err != nil {
		t.Fatal(err)
	}
	res := <-ch
	out, _ := os.ReadFile(cfg.StdoutPath)
	if res == nil || !res.Successful() {
		errOut, _ := os.ReadFile(cfg.StderrPath)
		t.Fatalf("exit %+v\nstdout %s\nstderr %s", res, out, errOut)
	}
	return string(out)
}

// TestRunsClass: a class compiled by the test runs isolated, as nobody, and
// sees what jvm_options and args say.
func TestRunsClass(t *testing.T) {
	requireJava(t, "javac")
	d := newDriver(t)
	cfg := exectest.TaskConfig(t, map[string]any{
		"class": "Hello", "class_path": "/local", "args": []any{"a", "b"},
		"jvm_options": []any{"-Dgreeting=hello-from-roam", "-Xmx64m"},
	})
	helloClass(t, cfg)
	if out := runJava(t, d, cfg); out != "hello-from-roam a,b nobody\n" {
		t.Fatalf("stdout %q", out)
	}
}

// TestRunsJar: the same class packed into a jar with a Main-Class.
func TestRunsJar(t *testing.T) {
	requireJava(t, "javac", "jar")
	d := newDriver(t)
	cfg := exectest.TaskConfig(t, map[string]any{"jar_path": "local/hello.jar", "jvm_options": []any{"-Dgreeting=from-jar"}})
	helloClass(t, cfg)
	out, err := osexec.Command("jar", "cfe", filepath.Join(cfg.TaskDir.LocalDir, "hello.jar"), "Hello", "-C", cfg.TaskDir.LocalDir, "Hello.class").CombinedOutput()
	if err != nil {
		t.Fatalf("jar: %v: %s", err, out)
	}
	if got := runJava(t, d, cfg); got != "from-jar  nobody\n" {
		t.Fatalf("stdout %q", got)
	}
}

// TestSignalReachesJVM: `alloc signal` reaches the JVM (the task's main
// process), whose handler logs the signal it got.
func TestSignalReachesJVM(t *testing.T) {
	requireJava(t, "javac")
	d := newDriver(t)
	cfg := exectest.TaskConfig(t, map[string]any{"class": "Trap", "class_path": "/local", "jvm_options": []any{"-Xmx64m"}})
	compileClass(t, cfg, "Trap", `import sun.misc.Signal;
public class Trap {
  public static void main(String[] args) throws Exception {
    Signal.handle(new Signal("HUP"), s -> { System.out.println("got SIG" + s.getName()); System.exit(4); });
    System.out.println("ready");
    Thread.sleep(60000);
  }
}
`)
	if _, err := d.StartTask(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.DestroyTask(context.Background(), cfg.ID, true) })
	testutil.WaitFor(t, 30*time.Second, func() error {
		if b, _ := os.ReadFile(cfg.StdoutPath); !strings.Contains(string(b), "ready") {
			return errors.New("the JVM has not handled its signal yet")
		}
		return nil
	})
	if err := d.SignalTask(cfg.ID, "SIGHUP"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ch, err := d.WaitTask(ctx, cfg.ID)
	if err != nil {
		t.Fatal(err)
	}
	res := <-ch
	out, _ := os.ReadFile(cfg.StdoutPath)
	if res == nil || res.ExitCode != 4 || string(out) != "ready\ngot SIGHUP\n" {
		t.Fatalf("exit %+v, stdout %q", res, out)
	}
}
