package v1alpha1

//go:generate go run ../../../../hack/docgen -src . -go ../explain/zz_generated_fields.go -md ../../../../docs/reference/config.md -schema ../../../../docs/reference/config.schema.json
