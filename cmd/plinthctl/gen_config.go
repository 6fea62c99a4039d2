package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/plinth-os/plinth/pkg/machinery/config"
	"github.com/plinth-os/plinth/pkg/machinery/config/generate"
	"github.com/plinth-os/plinth/pkg/machinery/config/patch"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
	"github.com/plinth-os/plinth/pkg/machinery/fsutil"
	"github.com/plinth-os/plinth/pkg/machinery/secrets"
)

// Output types of gen config.
const (
	outControlPlane = "controlplane"
	outWorker       = "worker"
	outPlinthConfig = "plinthconfig"
)

type genConfigFlags struct {
	withSecrets       string
	patches           []string
	patchesCP         []string
	patchesWorker     []string
	kubernetesVersion string
	installDisk       string
	installImage      string
	outputDir         string
	outputTypes       []string
	mode              string
	force             bool
}

func init() { genSubcommands = append(genSubcommands, newGenConfigCmd) }

func newGenConfigCmd(_ *globalFlags) *cobra.Command {
	f := &genConfigFlags{}
	cmd := &cobra.Command{
		Use:   "config NAME ENDPOINT",
		Short: "Generate the machine configs and the client config of a new cluster",
		Long: `Generate controlplane.yaml, worker.yaml and plinthconfig for a cluster named
NAME whose Kubernetes API is at ENDPOINT (an https URL, e.g. https://10.5.0.2:6443).

Secrets are generated anew unless --with-secrets gives a bundle from
'plinthctl gen secrets'. Patches (@file or inline YAML/JSON; strategic merge
or RFC 6902 JSON patch) are applied in order: --config-patch to both machine
types, then the type-specific ones. Every config is validated before anything
is written; existing files are kept unless --force.`,
		Example: `  plinthctl gen config demo https://10.5.0.2:6443
  plinthctl gen config demo https://10.5.0.2:6443 --with-secrets secrets.yaml \
      --config-patch '{"machine": {"time": {"servers": ["10.5.0.1"]}}}' \
      --config-patch-worker @worker-patch.yaml --output-dir _out/demo`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error { return f.run(cmd, args[0], args[1]) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.withSecrets, "with-secrets", "", "use the secrets bundle in this file instead of generating one")
	fl.StringArrayVar(&f.patches, "config-patch", nil, "patch applied to every machine config (@file or inline); repeatable")
	fl.StringArrayVar(&f.patchesCP, "config-patch-control-plane", nil, "patch applied to the control-plane config; repeatable")
	fl.StringArrayVar(&f.patchesWorker, "config-patch-worker", nil, "patch applied to the worker config; repeatable")
	fl.StringVar(&f.kubernetesVersion, "kubernetes-version", "", "Kubernetes version (default: the version this build ships)")
	fl.StringVar(&f.installDisk, "install-disk", "", "disk to install Plinth to, e.g. /dev/vda (default: run from memory)")
	fl.StringVar(&f.installImage, "install-image", "", "installer image or boot-asset bundle (path or URL)")
	fl.StringVarP(&f.outputDir, "output-dir", "o", ".", "directory the files are written to")
	fl.StringSliceVar(&f.outputTypes, "output-types", []string{outControlPlane, outWorker, outPlinthConfig}, "files to write: controlplane, worker, plinthconfig")
	fl.StringVar(&f.mode, "mode", string(validation.ModeMetal), "validate the configs for this mode: metal or container")
	fl.BoolVar(&f.force, "force", false, "overwrite existing files")
	return cmd
}

// genFile is one file gen config writes.
type genFile struct {
	name string
	data []byte
	perm os.FileMode
}

func (f *genConfigFlags) run(cmd *cobra.Command, name, endpoint string) error {
	mode, err := validation.ParseMode(f.mode)
	if err != nil {
		return fmt.Errorf("--mode: %w", err)
	}
	types, err := checkOutputTypes(f.outputTypes)
	if err != nil {
		return err
	}
	bundle, err := f.secrets()
	if err != nil {
		return err
	}
	in := &generate.Input{
		ClusterName: name, Endpoint: endpoint, KubernetesVersion: f.kubernetesVersion,
		InstallDisk: f.installDisk, InstallImage: f.installImage, Secrets: bundle, Now: genClock,
	}
	if err := in.Check(); err != nil {
		return err
	}
	common, err := loadPatches("--config-patch", f.patches)
	if err != nil {
		return err
	}
	files := make([]genFile, 0, len(types))
	for _, t := range types {
		file, err := f.render(cmd, in, t, mode, common)
		if err != nil {
			return err
		}
		files = append(files, file)
	}
	return writeGenerated(cmd, f.outputDir, files, f.force)
}

func (f *genConfigFlags) secrets() (*secrets.Bundle, error) {
	if f.withSecrets == "" {
		b, err := secrets.NewBundle()
		if err != nil {
			return nil, fmt.Errorf("generate secrets: %w", err)
		}
		return b, nil
	}
	b, err := secrets.Load(f.withSecrets)
	if err != nil {
		return nil, fmt.Errorf("--with-secrets: %w", err)
	}
	if err := b.Validate(); err != nil {
		return nil, fmt.Errorf("--with-secrets %s: %w", f.withSecrets, err)
	}
	return b, nil
}

// render builds one output file, patched and validated.
func (f *genConfigFlags) render(cmd *cobra.Command, in *generate.Input, typ string, mode validation.Mode, common []patch.Patch) (genFile, error) {
	if typ == outPlinthConfig {
		cc, err := in.ClientConfig(generate.DefaultClientCertTTL)
		if err != nil {
			return genFile{}, err
		}
		data, err := cc.Bytes()
		return genFile{name: outPlinthConfig, data: data, perm: 0o600}, err
	}
	machineType, specific, flag := v1alpha1.TypeControlPlane, f.patchesCP, "--config-patch-control-plane"
	if typ == outWorker {
		machineType, specific, flag = v1alpha1.TypeWorker, f.patchesWorker, "--config-patch-worker"
	}
	extra, err := loadPatches(flag, specific)
	if err != nil {
		return genFile{}, err
	}
	c, err := in.Config(machineType)
	if err != nil {
		return genFile{}, err
	}
	data, err := c.Bytes()
	if err != nil {
		return genFile{}, err
	}
	if ps := append(append([]patch.Patch{}, common...), extra...); len(ps) > 0 {
		if data, err = patch.Apply(data, config.MergeKeys, ps...); err != nil {
			return genFile{}, fmt.Errorf("%s.yaml: %w", typ, err)
		}
	}
	if _, err := loadAndValidate(typ+".yaml", data, mode, cmd.ErrOrStderr()); err != nil {
		return genFile{}, err
	}
	return genFile{name: typ + ".yaml", data: data, perm: 0o600}, nil
}

func loadPatches(flag string, specs []string) ([]patch.Patch, error) {
	out := make([]patch.Patch, 0, len(specs))
	for _, s := range specs {
		p, err := patch.Load(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", flag, err)
		}
		out = append(out, p)
	}
	return out, nil
}

func checkOutputTypes(types []string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, t := range types {
		t = strings.TrimSpace(t)
		switch t {
		case outControlPlane, outWorker, outPlinthConfig:
		default:
			return nil, fmt.Errorf("--output-types: unknown type %q: expected controlplane, worker or plinthconfig", t)
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("--output-types: nothing to write")
	}
	return out, nil
}

// writeGenerated writes every file, or none when one exists and force is off.
func writeGenerated(cmd *cobra.Command, dir string, files []genFile, force bool) error {
	if !force {
		var existing []string
		for _, f := range files {
			if _, err := os.Stat(filepath.Join(dir, f.name)); err == nil {
				existing = append(existing, filepath.Join(dir, f.name))
			}
		}
		if len(existing) > 0 {
			verb := "exists"
			if len(existing) > 1 {
				verb = "exist"
			}
			return fmt.Errorf("%s already %s; use --force to overwrite (nothing was written)", strings.Join(existing, ", "), verb)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create output directory: %w", err)
	}
	for _, f := range files {
		path := filepath.Join(dir, f.name)
		if err := fsutil.WriteFileAtomic(path, f.data, f.perm); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", path)
	}
	return nil
}
