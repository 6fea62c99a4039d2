package modules

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Load reads modules.dep and modules.builtin of a kernel release from a
// tree laid out as <root>/lib/modules/<release>.
func Load(root, release string) (*Index, error) {
	dir := filepath.Join(root, "lib", "modules", release)
	f, err := os.Open(filepath.Join(dir, "modules.dep"))
	if err != nil {
		return nil, fmt.Errorf("open modules.dep (run depmod first): %w", err)
	}
	defer f.Close()
	ix, err := ParseDep(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	b, err := os.Open(filepath.Join(dir, "modules.builtin"))
	if err != nil {
		return nil, fmt.Errorf("open modules.builtin: %w", err)
	}
	defer b.Close()
	if err := ix.AddBuiltin(b); err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return ix, nil
}

// Depmod runs `depmod -b root release`, which writes modules.dep (and the
// other indexes) for the tree. Debian's kernel packages ship none.
func Depmod(ctx context.Context, root, release string) error {
	bin, err := exec.LookPath("depmod")
	if err != nil {
		for _, p := range []string{"/usr/sbin/depmod", "/sbin/depmod"} {
			if _, serr := os.Stat(p); serr == nil {
				bin, err = p, nil
				break
			}
		}
	}
	if err != nil {
		return fmt.Errorf("depmod not found (apt-get install kmod, or run hack/ensure-deps.sh): %w", err)
	}
	out, err := exec.CommandContext(ctx, bin, "-b", root, release).CombinedOutput()
	if err != nil {
		return fmt.Errorf("depmod -b %s %s: %w: %s", root, release, err, out)
	}
	return nil
}
