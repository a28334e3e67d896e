package docker

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"runtime"

	cerrdefs "github.com/containerd/errdefs"
)

// The pause container only has to keep the group's network namespace alive,
// so its program is the smallest thing that sleeps forever: a static ELF
// executable of a few instructions, written here byte for byte, that waits
// for signals in a loop. It needs no libc, no loader and no Go runtime, so
// roam can build the image itself, at any time, from nothing: no registry,
// no compiler. Docker stops it with SIGKILL (as PID 1 of its container it
// ignores SIGTERM, having no handler), which is how roam removes it anyway.

// pauseLoop is the program's code per architecture.
var pauseLoop = map[string]struct {
	machine elf.Machine
	code    []byte
}{
	// loop: mov $34,%eax (pause); syscall; jmp loop
	"amd64": {elf.EM_X86_64, []byte{0xb8, 0x22, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xeb, 0xf7}},
	// loop: mov x8,#73 (ppoll); mov x0..x3,#0 (no fds, no timeout, no mask);
	// svc #0; b loop
	"arm64": {elf.EM_AARCH64, le32(0xd2800928, 0xd2800000, 0xd2800001, 0xd2800002, 0xd2800003, 0xd4000001, 0x17fffffa)},
}

func le32(words ...uint32) []byte {
	out := make([]byte, 0, 4*len(words))
	for _, w := range words {
		out = binary.LittleEndian.AppendUint32(out, w)
	}
	return out
}

// pauseBase is where the program is loaded.
const pauseBase = 0x400000

// pauseProgram returns the pause executable for goarch.
func pauseProgram(goarch string) ([]byte, error) {
	p, ok := pauseLoop[goarch]
	if !ok {
		return nil, fmt.Errorf("no pause program for %s; set infra_image in the docker plugin config", goarch)
	}
	const hdrLen, phLen = 64, 56
	size := uint64(hdrLen + phLen + len(p.code))
	h := elf.Header64{
		Type: uint16(elf.ET_EXEC), Machine: uint16(p.machine), Version: uint32(elf.EV_CURRENT),
		Entry: pauseBase + hdrLen + phLen, Phoff: hdrLen, Ehsize: hdrLen, Phentsize: phLen, Phnum: 1,
	}
	copy(h.Ident[:], elf.ELFMAG)
	h.Ident[elf.EI_CLASS], h.Ident[elf.EI_DATA], h.Ident[elf.EI_VERSION] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)
	ph := elf.Prog64{
		Type: uint32(elf.PT_LOAD), Flags: uint32(elf.PF_R | elf.PF_X), Vaddr: pauseBase, Paddr: pauseBase,
		Filesz: size, Memsz: size, Align: 0x1000,
	}
	var buf bytes.Buffer
	_ = binary.Write(&buf, binary.LittleEndian, h)
	_ = binary.Write(&buf, binary.LittleEndian, ph)
	buf.Write(p.code)
	return buf.Bytes(), nil
}

// pauseArchive is the pause image for the running architecture.
func pauseArchive(tag string) (*imageArchive, error) {
	prog, err := pauseProgram(runtime.GOARCH)
	if err != nil {
		return nil, err
	}
	return &imageArchive{
		Tag: tag, Arch: runtime.GOARCH, Entrypoint: []string{"/pause"},
		Files: []archiveFile{{Path: "pause", Mode: 0o755, Data: prog}},
	}, nil
}

// ensureInfraImage makes the pause image available: roam's own is built
// and loaded when absent; another infra_image is found or pulled like a
// task's image.
func (d *Driver) ensureInfraImage(ctx context.Context) error {
	img := d.cfg.Plugin.InfraImage
	d.pauseMu.Lock()
	defer d.pauseMu.Unlock()
	_, err := d.api.ImageInspect(ctx, img)
	if err == nil {
		return nil
	}
	if !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("inspect infra image %q: %w", img, err)
	}
	if img != DefaultInfraImage {
		if err := d.images().pullOnce(ctx, img, ""); err != nil {
			return fmt.Errorf("infra image %q is not present locally and could not be pulled from its registry: %w", img, err)
		}
		return nil
	}
	a, err := pauseArchive(img)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := a.write(&buf); err != nil {
		return err
	}
	if err := loadArchive(ctx, d.api, &buf); err != nil {
		return fmt.Errorf("load pause image %s: %w", img, err)
	}
	d.logger.Info("built the pause image", "image", img)
	return nil
}
