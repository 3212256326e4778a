package outfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Options say what Write must protect and where standard output goes. The
// zero value protects no input, discards output meant for standard output
// and says nothing of what it replaced.
type Options struct {
	// Inputs are files the output must never replace: the captures of the
	// incident. A path that names one of them, after symbolic links, by
	// the same device and inode, is refused with ErrInput.
	Inputs []string
	// Stdout receives the output when the path is "-", /dev/stdout or
	// another name of the process's standard output.
	Stdout io.Writer
	// Note, when set, is told in one sentence what an existing file's
	// replacement did ("replaced report.html (5120 bytes), mode 0600
	// kept").
	Note func(msg string)
}

// Errors a refused path wraps.
var (
	// ErrInput: the output would replace one of the inputs.
	ErrInput = errors.New("it is one of the inputs; choose another output path")
	// ErrNotRegular: the path names a directory, a device node, a FIFO or
	// a socket, which a report must not replace.
	ErrNotRegular = errors.New("not a regular file")
)

// bufSize is the write buffer in front of the temporary file.
const bufSize = 256 << 10

// Write writes what write produces to path, as the package doc says.
// Nothing is written to path when write fails or the path is refused; the
// error then names the path.
func Write(path string, opt Options, write func(io.Writer) error) error {
	plan, err := Check(path, opt)
	if err != nil {
		return err
	}
	return plan.write(opt, write)
}

// Plan is how Write will write one path, as Check found it.
type Plan struct {
	Path   string // as given
	Target string // the file written: Path with symbolic links resolved
	// Stdout: the path names standard output; the output goes to
	// Options.Stdout.
	Stdout bool
	// Discard: the path is /dev/null.
	Discard bool
	// Existing is the file replaced, nil when there is none.
	Existing fs.FileInfo
	// InPlace: the existing file has other hard links, and the new content
	// is copied into it (after being written whole beside it) rather than
	// renamed over it, so that the links keep sharing it.
	InPlace bool
}

// Check looks at path as Write would, without writing anything: a command
// calls it before a long analysis, so that a refused path costs nothing.
func Check(path string, opt Options) (*Plan, error) {
	p := &Plan{Path: path, Target: path}
	if path == "-" || isStdoutName(path) {
		p.Stdout = true
		return p, nil
	}
	lst, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return p, nil // a new file; the directory's existence shows at create
	case err != nil:
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	st := lst
	if lst.Mode()&fs.ModeSymlink != 0 {
		target, err := filepath.EvalSymlinks(path)
		if err != nil {
			return nil, fmt.Errorf("write %s: a symbolic link that does not resolve: %w", path, err)
		}
		if st, err = os.Stat(target); err != nil {
			return nil, fmt.Errorf("write %s: %w", path, err)
		}
		p.Target = target
	}
	if sameAsStdout(st) {
		p.Stdout = true
		return p, nil
	}
	if isDevNull(st) {
		p.Discard = true
		return p, nil
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("write %s: %w: it is %s", path, ErrNotRegular, kind(st.Mode()))
	}
	for _, in := range opt.Inputs {
		ist, err := os.Stat(in)
		if err == nil && os.SameFile(st, ist) {
			if in == path {
				return nil, fmt.Errorf("write %s: %w", path, ErrInput)
			}
			return nil, fmt.Errorf("write %s: the same file as input %s: %w", path, in, ErrInput)
		}
	}
	p.Existing = st
	p.InPlace = linkCount(st) > 1
	return p, nil
}

func (p *Plan) write(opt Options, write func(io.Writer) error) (err error) {
	switch {
	case p.Stdout:
		w := opt.Stdout
		if w == nil {
			w = io.Discard
		}
		return write(w)
	case p.Discard:
		return write(io.Discard)
	}
	tmp, err := os.CreateTemp(filepath.Dir(p.Target), "."+filepath.Base(p.Target)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", p.Path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, bufSize)
	if err := write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", p.Path, err)
	}
	if p.InPlace {
		return p.copyInto(tmp, opt)
	}
	// CreateTemp makes the file private; a new report is as readable as
	// any file the user writes, and a replaced one keeps its mode (0600
	// stays 0600) and, where allowed, its owner.
	mode := fs.FileMode(0o644)
	if p.Existing != nil {
		mode = p.Existing.Mode().Perm()
		keepOwner(tmp, p.Existing)
	}
	if err := tmp.Chmod(mode); err != nil {
		return fmt.Errorf("write %s: %w", p.Path, err)
	}
	// Sync before the rename so that a crash leaves the old file or the
	// whole new one.
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", p.Path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", p.Path, err)
	}
	if err := os.Rename(tmp.Name(), p.Target); err != nil {
		return fmt.Errorf("write %s: %w", p.Path, err)
	}
	p.note(opt, "")
	return nil
}

// copyInto copies the finished temporary file into the existing target,
// which other hard links share, and removes the temporary file. A failure
// here can leave the target cut short; the temporary file is then kept and
// named in the error, so that nothing written is lost.
func (p *Plan) copyInto(tmp *os.File, opt Options) error {
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("write %s: %w", p.Path, err)
	}
	dst, err := os.OpenFile(p.Target, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return fmt.Errorf("write %s: %w", p.Path, err)
	}
	_, err = io.Copy(dst, tmp)
	if err == nil {
		err = dst.Sync()
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		tmp.Close()
		return fmt.Errorf("write %s in place: %w (the complete output is in %s)", p.Path, err, tmp.Name())
	}
	tmp.Close()
	os.Remove(tmp.Name())
	p.note(opt, fmt.Sprintf(", written in place to keep its %d hard links", linkCount(p.Existing)))
	return nil
}

func (p *Plan) note(opt Options, extra string) {
	if opt.Note == nil || p.Existing == nil {
		return
	}
	via := ""
	if p.Target != p.Path {
		via = " (through the symbolic link " + p.Path + ")"
	}
	opt.Note(fmt.Sprintf("replaced %s%s (%d bytes), mode %04o kept%s",
		p.Target, via, p.Existing.Size(), p.Existing.Mode().Perm(), extra))
}

// kind names a file type for an error message.
func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	}
	return "not a regular file (" + m.Type().String() + ")"
}

// isStdoutName reports whether path is one of the names of the process's
// standard output, which are written through rather than resolved: as a
// symbolic link /dev/stdout leads to whatever stdout is, possibly a file,
// which renaming over would take from under the shell.
func isStdoutName(path string) bool {
	switch filepath.Clean(path) {
	case "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1":
		return true
	}
	return false
}

// sameAsStdout reports whether st is the file the process's standard
// output is (hoptrace analyze --out x.json > x.json): written through, as
// the shell already truncated it.
func sameAsStdout(st fs.FileInfo) bool {
	out, err := os.Stdout.Stat()
	return err == nil && os.SameFile(st, out)
}

func isDevNull(st fs.FileInfo) bool {
	null, err := os.Stat(os.DevNull)
	return err == nil && st.Mode()&fs.ModeCharDevice != 0 && os.SameFile(st, null)
}
